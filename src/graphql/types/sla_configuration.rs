//! `SlaConfiguration`: days per severity, enforcement, thresholds and escalation.

use async_graphql::{ID, Object};

use crate::entity::sla_configuration;

pub struct SlaConfiguration(pub sla_configuration::Model);

/// An SLA profile: days per severity, which severities are enforced, notification thresholds.
#[Object]
impl SlaConfiguration {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Days to remediate a Critical finding.
    async fn critical(&self) -> i32 {
        self.0.critical_days
    }
    async fn high(&self) -> i32 {
        self.0.high_days
    }
    async fn medium(&self) -> i32 {
        self.0.medium_days
    }
    async fn low(&self) -> i32 {
        self.0.low_days
    }
    /// Not enforced: Critical findings get no deadline.
    async fn enforce_critical(&self) -> bool {
        self.0.enforce_critical
    }
    async fn enforce_high(&self) -> bool {
        self.0.enforce_high
    }
    async fn enforce_medium(&self) -> bool {
        self.0.enforce_medium
    }
    async fn enforce_low(&self) -> bool {
        self.0.enforce_low
    }
    /// Reactivating a mitigated finding starts a new SLA at the reactivation instant.
    async fn restart_sla_on_reactivation(&self) -> bool {
        self.0.restart_sla_on_reactivation
    }
    /// Percentages of the SLA period remaining at which `sla_breach_approaching` fires, largest first.
    async fn thresholds(&self) -> Vec<i32> {
        serde_json::from_str(&self.0.thresholds).unwrap_or_default()
    }
    /// Hours in breach before `sla_breach_escalation`.
    async fn escalation_hours(&self) -> i32 {
        self.0.escalation_hours
    }
    /// The system default, used by products without their own; cannot be deleted.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
}
