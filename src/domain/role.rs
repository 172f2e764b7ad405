//! Product membership roles and what each one may do.

stored_enum! {
    /// A user's role in one product. Ordered: a higher role can do everything a lower one can.
    #[derive(PartialOrd, Ord)]
    pub enum ProductRole, error UnknownRole("product role") {
        /// View the product and its findings.
        Reader = "READER",
        /// Also edit findings, engagements and notes.
        Writer = "WRITER",
        /// Also manage product settings, members and product notifications.
        Owner = "OWNER",
    }
}

impl ProductRole {
    /// Whether this role grants at least `required`.
    #[must_use]
    pub fn allows(self, required: ProductRole) -> bool {
        self >= required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_roles_include_lower_ones() {
        assert!(ProductRole::Owner.allows(ProductRole::Writer));
        assert!(ProductRole::Writer.allows(ProductRole::Reader));
        assert!(!ProductRole::Reader.allows(ProductRole::Writer));
        assert!(!ProductRole::Writer.allows(ProductRole::Owner));
    }

    #[test]
    fn round_trips_the_stored_form() {
        for role in [ProductRole::Reader, ProductRole::Writer, ProductRole::Owner] {
            assert_eq!(role.as_str().parse::<ProductRole>(), Ok(role));
        }
        assert!("ADMIN".parse::<ProductRole>().is_err());
    }
}
