//! The body a webhook receives: DefectDojo's JSON (with SLA data), or GELF 1.1 for Graylog.

/// A webhook's body format (stored as `JSON` or `GELF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookFormat {
    Json,
    Gelf,
}

impl WebhookFormat {
    /// The stored form.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::Gelf => "GELF",
        }
    }
}

/// A stored format slawatch does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown webhook format {0:?}: use JSON or GELF")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for WebhookFormat {
    type Err = UnknownFormat;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "JSON" => Ok(Self::Json),
            "GELF" => Ok(Self::Gelf),
            other => Err(UnknownFormat(other.to_owned())),
        }
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
