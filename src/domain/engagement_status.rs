//! Where an engagement stands, as DefectDojo's statuses (stored `NOT_STARTED`, `IN_PROGRESS`, `COMPLETED`,
//! `CANCELLED`).

/// An engagement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EngagementStatus {
    #[default]
    NotStarted,
    InProgress,
    Completed,
    Cancelled,
}

impl EngagementStatus {
    /// The statuses reminders and auto-close look at.
    pub const OPEN: [Self; 2] = [Self::NotStarted, Self::InProgress];

    /// The stored form.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "NOT_STARTED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Not started or in progress.
    #[must_use]
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// Written as its stored form in notification payloads.
impl serde::Serialize for EngagementStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A stored status slawatch does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engagement status {0:?}")]
pub struct UnknownStatus(pub String);

impl std::str::FromStr for EngagementStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::NotStarted, Self::InProgress, Self::Completed, Self::Cancelled]
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_store_and_nothing_else() {
        for status in [
            EngagementStatus::NotStarted,
            EngagementStatus::InProgress,
            EngagementStatus::Completed,
            EngagementStatus::Cancelled,
        ] {
            assert_eq!(status.as_str().parse::<EngagementStatus>(), Ok(status));
        }
        assert!("DONE".parse::<EngagementStatus>().is_err());
    }
}
