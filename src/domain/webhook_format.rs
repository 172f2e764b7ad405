//! The body a webhook receives: DefectDojo's JSON (with SLA data), or GELF 1.1 for Graylog.

stored_enum! {
    /// A webhook's body format.
    pub enum WebhookFormat, error UnknownFormat("webhook format") {
        Json = "JSON",
        Gelf = "GELF",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_back_what_they_store_and_nothing_else() {
        for format in [WebhookFormat::Json, WebhookFormat::Gelf] {
            assert_eq!(format.as_str().parse::<WebhookFormat>(), Ok(format));
        }
        assert!("XML".parse::<WebhookFormat>().is_err());
    }
}
