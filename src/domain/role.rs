//! Product membership roles and what each one may do.

use std::str::FromStr;

/// A user's role in one product. Ordered: a higher role can do everything a lower one can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProductRole {
    /// View the product and its findings.
    Reader,
    /// Also edit findings, engagements and notes.
    Writer,
    /// Also manage product settings, members and product notifications.
    Owner,
}

impl ProductRole {
    /// The stored form.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "READER",
            Self::Writer => "WRITER",
            Self::Owner => "OWNER",
        }
    }

    /// Whether this role grants at least `required`.
    #[must_use]
    pub fn allows(self, required: ProductRole) -> bool {
        self >= required
    }
}

/// A stored role that is not one of READER, WRITER, OWNER.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown product role {0:?}")]
pub struct UnknownRole(pub String);

impl FromStr for ProductRole {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "READER" => Ok(Self::Reader),
            "WRITER" => Ok(Self::Writer),
            "OWNER" => Ok(Self::Owner),
            other => Err(UnknownRole(other.to_owned())),
        }
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
