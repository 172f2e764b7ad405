//! Finding severities, spelled as DefectDojo stores them ("Critical") and parsed in any case.

use std::fmt;
use std::str::FromStr;

/// How bad a finding is. `Info` never has an SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 5] = [Self::Critical, Self::High, Self::Medium, Self::Low, Self::Info];
    /// The severities that can carry an SLA, most severe first.
    pub const WITH_SLA: [Severity; 4] = [Self::Critical, Self::High, Self::Medium, Self::Low];

    /// DefectDojo's spelling, also the stored form.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "Critical",
            Self::High => "High",
            Self::Medium => "Medium",
            Self::Low => "Low",
            Self::Info => "Info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Written as its stored spelling in notification payloads and exports.
impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Read from its stored spelling (any case), as `FromStr`.
impl<'de> serde::Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The text was not one of Critical, High, Medium, Low, Info (in any case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected one of Critical, High, Medium, Low, Info")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        Self::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(trimmed))
            .or_else(|| trimmed.eq_ignore_ascii_case("informational").then_some(Self::Info))
            .ok_or_else(|| UnknownSeverity(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_round_trips() {
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
            assert_eq!(severity.as_str().to_uppercase().parse::<Severity>(), Ok(severity));
            assert_eq!(severity.as_str().to_lowercase().parse::<Severity>(), Ok(severity));
        }
        assert_eq!("Informational".parse::<Severity>(), Ok(Severity::Info));
    }

    #[test]
    fn rejects_unknown_names() {
        assert!("Severe".parse::<Severity>().is_err());
        assert!("".parse::<Severity>().is_err());
    }
}
