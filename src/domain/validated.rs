//! Small validated values used across the API: names, usernames and email addresses.

/// A value that failed validation, with a message fit for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// A non-empty display name of at most 200 characters, trimmed.
pub fn name(field: &str, value: &str) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > 200 {
        return Err(Invalid(format!("{field} must be at most 200 characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Invalid(format!("{field} must not contain control characters")));
    }
    Ok(trimmed.to_owned())
}

/// A username: 1–150 characters of letters, digits and `@ . + - _` (Django's rule, so `@mentions` work).
pub fn username(value: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.chars().count() <= 150
        && value.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Invalid(format!("invalid username {value:?}: use 1-150 letters, digits and @.+-_")))
    }
}

/// An email address: one `@`, a non-empty local part, a dotted domain, no spaces. Deliberately simple:
/// the mail server has the last word, this catches typos.
pub fn email(value: &str) -> Result<String, Invalid> {
    let trimmed = value.trim();
    let valid = trimmed.len() <= 254
        && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        && trimmed.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        });
    if valid { Ok(trimmed.to_owned()) } else { Err(Invalid(format!("invalid email address {value:?}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_non_empty() {
        assert_eq!(name("name", "  Royal Bank "), Ok("Royal Bank".to_owned()));
        assert!(name("name", "   ").is_err());
        assert!(name("name", &"x".repeat(201)).is_err());
        assert!(name("name", "a\u{0}b").is_err());
    }

    #[test]
    fn usernames_allow_django_characters_only() {
        assert!(username("cheery.littlebottom").is_ok());
        assert!(username("otto+chriek@gt").is_ok());
        assert!(username("").is_err());
        assert!(username("has space").is_err());
    }

    #[test]
    fn emails_need_a_dotted_domain() {
        assert!(email("cheery@golemtrust.am").is_ok());
        for bad in ["", "cheery", "cheery@", "@golemtrust.am", "a@b", "a b@c.d", "a@@b.c", "a@b..c", "a@.b"] {
            assert!(email(bad).is_err(), "{bad} should be rejected");
        }
    }
}
