//! Reading one setting's text: numbers, ranges and flags, refused with a message naming the variable.

use super::ConfigError;

pub(super) fn invalid(name: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { name, message }
}

pub(super) fn number<T: std::str::FromStr>(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_value: Option<T>,
) -> Result<Option<T>, ConfigError> {
    match env(name) {
        Some(text) => text.trim().parse().map(Some).map_err(|_| invalid(name, format!("{text:?} is not a number"))),
        None => Ok(file_value),
    }
}

/// `number`, refused outside `range` (a message naming the variable and the range).
pub(super) fn within<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_value: Option<T>,
    range: std::ops::RangeInclusive<T>,
) -> Result<Option<T>, ConfigError> {
    match number(env, name, file_value)? {
        Some(value) if !range.contains(&value) => {
            Err(invalid(name, format!("must be between {} and {}", range.start(), range.end())))
        }
        value => Ok(value),
    }
}

/// `number`, refused below `least`.
pub(super) fn at_least<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_value: Option<T>,
    least: T,
) -> Result<Option<T>, ConfigError> {
    match number(env, name, file_value)? {
        Some(value) if value < least => Err(invalid(name, format!("must be at least {least}"))),
        value => Ok(value),
    }
}

pub(super) fn flag(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_value: Option<bool>,
) -> Result<Option<bool>, ConfigError> {
    match env(name) {
        Some(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(invalid(name, format!("{text:?} is not true or false"))),
        },
        None => Ok(file_value),
    }
}
