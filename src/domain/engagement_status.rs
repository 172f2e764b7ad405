//! Where an engagement stands, as DefectDojo's statuses (stored `NOT_STARTED`, `IN_PROGRESS`, `COMPLETED`,
//! `CANCELLED`).

stored_enum! {
    /// An engagement's status.
    #[derive(Default)]
    pub enum EngagementStatus, error UnknownStatus("engagement status") {
        #[default]
        NotStarted = "NOT_STARTED",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
}

impl EngagementStatus {
    /// The statuses reminders and auto-close look at.
    pub const OPEN: [Self; 2] = [Self::NotStarted, Self::InProgress];

    /// Not started or in progress.
    #[must_use]
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
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
