//! The flags of a finding that decide whether its SLA clock is running.

use chrono::{DateTime, Utc};

/// A finding's lifecycle flags, as DefectDojo has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FindingStatus {
    pub active: bool,
    pub verified: bool,
    pub is_mitigated: bool,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub false_positive: bool,
    pub duplicate: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
}

impl FindingStatus {
    /// A new, active, unverified finding.
    #[must_use]
    pub fn new_active() -> Self {
        Self { active: true, ..Self::default() }
    }

    /// "Open for SLA purposes", as DefectDojo's `outside_of_sla` filter: active and not mitigated, false
    /// positive, duplicate, out of scope or risk accepted.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.active
            && !self.is_mitigated
            && !self.false_positive
            && !self.duplicate
            && !self.out_of_scope
            && !self.risk_accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_active_untriaged_unmitigated_finding_is_open() {
        assert!(FindingStatus::new_active().is_open());
        let closing_flags: [fn(&mut FindingStatus); 6] = [
            |s| s.active = false,
            |s| s.is_mitigated = true,
            |s| s.false_positive = true,
            |s| s.duplicate = true,
            |s| s.out_of_scope = true,
            |s| s.risk_accepted = true,
        ];
        for close in closing_flags {
            let mut status = FindingStatus::new_active();
            close(&mut status);
            assert!(!status.is_open(), "{status:?} should not be open");
        }
    }

    #[test]
    fn verification_does_not_change_openness() {
        let status = FindingStatus { verified: true, ..FindingStatus::new_active() };
        assert!(status.is_open());
    }
}
