//! Pure rules and types of the SLA domain: no database, no GraphQL, no I/O.

#[macro_use]
mod stored_enum;

pub mod compliance;
pub mod delivery;
pub mod engagement_reminders;
pub mod engagement_status;
pub mod finding_index;
pub mod finding_status;
pub mod ids;
pub mod import_statistics;
pub mod mentions;
pub mod notification_event;
pub mod notification_payload;
pub mod outbound;
pub mod page;
pub mod recipients;
pub mod report_format;
pub mod report_schedule;
pub mod retry;
pub mod role;
pub mod scan_type;
pub mod setting_conditions;
pub mod severity;
pub mod sla;
pub mod sla_events;
pub mod sla_policy;
pub mod sla_trend;
pub mod tags;
pub mod trigrams;
pub mod validated;
pub mod webhook_format;
pub mod webhook_health;

pub use finding_status::FindingStatus;
pub use ids::{
    AlertId, ApiTokenId, DefectDojoSourceId, DeliveryId, DojoId, EngagementId, EntityId, FindingId, MembershipId,
    NotificationId, ProductId, ProductTypeId, ReportId, ReportScheduleId, ReportShareId, SlaConfigurationId, TestId,
    UserId, WebhookId,
};
pub use notification_event::NotificationEvent;
pub use notification_payload::NotificationPayload;
pub use role::ProductRole;
pub use severity::Severity;
pub use sla::{SlaSchedule, SlaStart, SlaState};
pub use sla_events::SlaEventKind;
pub use sla_policy::{EscalationHours, SeverityRule, SlaDays, SlaPolicy, Thresholds};
