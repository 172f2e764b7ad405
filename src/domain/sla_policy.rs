//! An SLA configuration as the domain sees it: valid days per severity, thresholds and escalation.

use super::Severity;

/// The longest SLA period we accept, in days (ten years): beyond it the arithmetic stays exact but the
/// value is certainly a typo.
pub const MAX_SLA_DAYS: u32 = 3650;

/// A number of days in an SLA period: at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SlaDays(u32);

/// Why a value of an SLA configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("SLA days must be between 1 and {MAX_SLA_DAYS}, got {0}")]
    Days(i64),
    #[error("thresholds must be whole percentages between 1 and 99, got {0}")]
    ThresholdRange(i64),
    #[error("thresholds must not repeat, {0} appears twice")]
    ThresholdRepeated(u8),
    #[error("at most 10 thresholds, got {0}")]
    TooManyThresholds(usize),
    #[error("escalation must be between 1 and 8760 hours, got {0}")]
    Escalation(i64),
}

impl SlaDays {
    pub fn new(days: i64) -> Result<Self, PolicyError> {
        u32::try_from(days).ok().filter(|d| (1..=MAX_SLA_DAYS).contains(d)).map(Self).ok_or(PolicyError::Days(days))
    }

    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Notification thresholds: percentages of the SLA period remaining, distinct, kept largest first
/// (50 % is crossed before 10 %).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds(Vec<u8>);

impl Thresholds {
    pub fn new(percentages: &[i64]) -> Result<Self, PolicyError> {
        if percentages.len() > 10 {
            return Err(PolicyError::TooManyThresholds(percentages.len()));
        }
        let mut values = Vec::with_capacity(percentages.len());
        for &p in percentages {
            let value = u8::try_from(p).ok().filter(|v| (1..=99).contains(v)).ok_or(PolicyError::ThresholdRange(p))?;
            if values.contains(&value) {
                return Err(PolicyError::ThresholdRepeated(value));
            }
            values.push(value);
        }
        values.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Self(values))
    }

    /// The runbook's default: 50 % and 10 % of the period remaining.
    #[must_use]
    pub fn runbook_default() -> Self {
        Self(vec![50, 10])
    }

    /// Largest first.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The first threshold to be crossed, if any.
    #[must_use]
    pub fn largest(&self) -> Option<u8> {
        self.0.first().copied()
    }
}

/// Hours a finding may stay in breach before `sla_breach_escalation` (the runbook's 48).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationHours(u32);

impl EscalationHours {
    pub fn new(hours: i64) -> Result<Self, PolicyError> {
        u32::try_from(hours).ok().filter(|h| (1..=8760).contains(h)).map(Self).ok_or(PolicyError::Escalation(hours))
    }

    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The SLA of one severity: its period and whether it is enforced (not enforced means no deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeverityRule {
    pub days: SlaDays,
    pub enforced: bool,
}

/// A complete SLA configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    pub critical: SeverityRule,
    pub high: SeverityRule,
    pub medium: SeverityRule,
    pub low: SeverityRule,
    pub restart_sla_on_reactivation: bool,
    pub thresholds: Thresholds,
    pub escalation: EscalationHours,
}

impl SlaPolicy {
    /// The SLA period in days for a severity, or `None` when it has no SLA (INFO, or not enforced).
    #[must_use]
    pub fn period_days(&self, severity: Severity) -> Option<u32> {
        let rule = match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => return None,
        };
        rule.enforced.then_some(rule.days.get())
    }

    /// The severities whose SLA period (days, or whether it is enforced) differs between `before` and this.
    pub fn changed_periods<'a>(&'a self, before: &'a Self) -> impl Iterator<Item = Severity> + 'a {
        Severity::WITH_SLA
            .iter()
            .copied()
            .filter(move |&severity| before.period_days(severity) != self.period_days(severity))
    }

    /// How the SLA periods changed from `before` to this, in words ("High 7 d → 5 d, Low 90 d → not
    /// enforced"); `None` when no period changed (thresholds and escalation are not the SLA's days).
    #[must_use]
    pub fn period_changes_from(&self, before: &Self) -> Option<String> {
        let days = |days: Option<u32>| days.map_or_else(|| "not enforced".to_owned(), |d| format!("{d} d"));
        let changes: Vec<String> = self
            .changed_periods(before)
            .map(|severity| {
                format!(
                    "{} {} → {}",
                    severity.as_str(),
                    days(before.period_days(severity)),
                    days(self.period_days(severity))
                )
            })
            .collect();
        (!changes.is_empty()).then(|| changes.join(", "))
    }

    /// The runbook's global values: 1 / 7 / 30 / 90 days, all enforced, thresholds 50 % and 10 %, 48 h.
    #[must_use]
    pub fn runbook_default() -> Self {
        let rule = |days| SeverityRule { days: SlaDays(days), enforced: true };
        Self {
            critical: rule(1),
            high: rule(7),
            medium: rule(30),
            low: rule(90),
            restart_sla_on_reactivation: false,
            thresholds: Thresholds::runbook_default(),
            escalation: EscalationHours(48),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_must_be_at_least_one() {
        assert_eq!(SlaDays::new(0), Err(PolicyError::Days(0)));
        assert_eq!(SlaDays::new(-3), Err(PolicyError::Days(-3)));
        assert_eq!(SlaDays::new(1).map(SlaDays::get), Ok(1));
        assert!(SlaDays::new(i64::from(MAX_SLA_DAYS) + 1).is_err());
    }

    #[test]
    fn thresholds_are_sorted_largest_first_and_validated() {
        assert_eq!(Thresholds::new(&[10, 50]).map(|t| t.as_slice().to_vec()), Ok(vec![50, 10]));
        assert_eq!(Thresholds::new(&[0]), Err(PolicyError::ThresholdRange(0)));
        assert_eq!(Thresholds::new(&[100]), Err(PolicyError::ThresholdRange(100)));
        assert_eq!(Thresholds::new(&[10, 10]), Err(PolicyError::ThresholdRepeated(10)));
        assert_eq!(Thresholds::new(&[]).map(|t| t.largest()), Ok(None));
    }

    #[test]
    fn info_and_unenforced_severities_have_no_period() {
        let mut policy = SlaPolicy::runbook_default();
        assert_eq!(policy.period_days(Severity::Critical), Some(1));
        assert_eq!(policy.period_days(Severity::High), Some(7));
        assert_eq!(policy.period_days(Severity::Medium), Some(30));
        assert_eq!(policy.period_days(Severity::Low), Some(90));
        assert_eq!(policy.period_days(Severity::Info), None);
        policy.medium.enforced = false;
        assert_eq!(policy.period_days(Severity::Medium), None);
    }

    #[test]
    fn escalation_is_bounded() {
        assert!(EscalationHours::new(0).is_err());
        assert_eq!(EscalationHours::new(48).map(EscalationHours::get), Ok(48));
    }

    #[test]
    fn period_changes_are_said_per_severity_and_only_when_days_change() {
        let before = SlaPolicy::runbook_default();
        assert_eq!(before.period_changes_from(&before), None);
        let mut after = before.clone();
        after.high = SeverityRule { days: SlaDays(5), enforced: true };
        after.low = SeverityRule { days: SlaDays(90), enforced: false };
        assert_eq!(after.period_changes_from(&before).as_deref(), Some("High 7 d → 5 d, Low 90 d → not enforced"));
        let mut thresholds_only = before.clone();
        thresholds_only.restart_sla_on_reactivation = !before.restart_sla_on_reactivation;
        assert_eq!(thresholds_only.period_changes_from(&before), None);
    }
}
