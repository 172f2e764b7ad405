//! The notification events of DefectDojo's list, with the SLA events split as the runbook needs.

use std::str::FromStr;

macro_rules! events {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Something that can be notified about. Stored and sent (webhook headers) as DefectDojo's lower-case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum NotificationEvent { $($variant),+ }

        impl NotificationEvent {
            /// Every event, in DefectDojo's order.
            pub const ALL: &'static [NotificationEvent] = &[$(Self::$variant),+];

            /// DefectDojo's name, e.g. `sla_breach`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }
    };
}

events! {
    ProductTypeAdded => "product_type_added",
    ProductAdded => "product_added",
    EngagementAdded => "engagement_added",
    TestAdded => "test_added",
    ScanAdded => "scan_added",
    ScanAddedEmpty => "scan_added_empty",
    JiraUpdate => "jira_update",
    UpcomingEngagement => "upcoming_engagement",
    StaleEngagement => "stale_engagement",
    AutoCloseEngagement => "auto_close_engagement",
    CloseEngagement => "close_engagement",
    UserMentioned => "user_mentioned",
    CodeReview => "code_review",
    ReviewRequested => "review_requested",
    SlaBreachApproaching => "sla_breach_approaching",
    SlaBreach => "sla_breach",
    SlaBreachEscalation => "sla_breach_escalation",
    SlaBreachCombined => "sla_breach_combined",
    SlaResolved => "sla_resolved",
    RiskAcceptanceExpiration => "risk_acceptance_expiration",
    ReportCreated => "report_created",
    Other => "other",
}

impl NotificationEvent {
    /// The events for which system settings override a user's opt-out by default (as DefectDojo).
    pub const DEFAULT_SYSTEM_LEVEL_TRUMP: &'static [NotificationEvent] = &[Self::UserMentioned, Self::ReviewRequested];

    /// Sent only where a setting names it: the SLA digest repeats the per-finding SLA messages, so neither a
    /// scope's `other` setting nor the default in-app alert reaches it.
    #[must_use]
    pub fn is_opt_in(self) -> bool {
        self == Self::SlaBreachCombined
    }
}

/// The name is not one of the known events.
/// Written as DefectDojo's name in payloads.
impl serde::Serialize for NotificationEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown notification event {0:?}")]
pub struct UnknownEvent(pub String);

impl FromStr for NotificationEvent {
    type Err = UnknownEvent;

    /// Accepts DefectDojo's name (`sla_breach`) in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|event| event.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownEvent(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for &event in NotificationEvent::ALL {
            assert_eq!(event.as_str().parse::<NotificationEvent>(), Ok(event));
            assert_eq!(event.as_str().to_uppercase().parse::<NotificationEvent>(), Ok(event));
        }
        assert_eq!(NotificationEvent::ALL.len(), 22);
        assert!("sla_missed".parse::<NotificationEvent>().is_err());
    }
}
