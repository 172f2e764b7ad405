//! GraphQL enums and their conversions to and from the domain.

use async_graphql::Enum;

use crate::domain;

/// How bad a finding is. INFO never has an SLA.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::Severity")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    /// The stored/DefectDojo spelling, for service inputs that take text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        domain::Severity::from(self).as_str()
    }
}

/// Where a finding stands against its SLA.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::SlaState")]
pub enum SlaState {
    /// No SLA: no enforced period for the severity, or closed without mitigation.
    None,
    /// Open; no notification threshold crossed yet.
    OnTrack,
    /// Open; a threshold crossed, the deadline not yet passed.
    Approaching,
    /// Open and past the deadline.
    Breached,
    /// Mitigated by the deadline.
    Met,
    /// Mitigated after the deadline.
    Missed,
}

/// A member's role in a product.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::ProductRole")]
pub enum ProductRole {
    /// View the product and its findings.
    Reader,
    /// Also edit findings, engagements and notes.
    Writer,
    /// Also manage the product's settings, members and notifications.
    Owner,
}

/// Where an engagement stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::engagement_status::EngagementStatus")]
pub enum EngagementStatus {
    NotStarted,
    InProgress,
    Completed,
    Cancelled,
}

macro_rules! notification_events {
    ($($variant:ident),+ $(,)?) => {
        /// A notification event: DefectDojo's names upper-cased (`SLA_BREACH` is `sla_breach`).
        #[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
        pub enum NotificationEvent { $($variant),+ }

        impl From<domain::NotificationEvent> for NotificationEvent {
            fn from(value: domain::NotificationEvent) -> Self {
                match value { $(domain::NotificationEvent::$variant => Self::$variant),+ }
            }
        }

        impl From<NotificationEvent> for domain::NotificationEvent {
            fn from(value: NotificationEvent) -> Self {
                match value { $(NotificationEvent::$variant => Self::$variant),+ }
            }
        }
    };
}

notification_events!(
    ProductTypeAdded,
    ProductAdded,
    EngagementAdded,
    TestAdded,
    ScanAdded,
    ScanAddedEmpty,
    JiraUpdate,
    UpcomingEngagement,
    StaleEngagement,
    AutoCloseEngagement,
    CloseEngagement,
    UserMentioned,
    CodeReview,
    ReviewRequested,
    SlaBreachApproaching,
    SlaBreach,
    SlaBreachEscalation,
    SlaBreachCombined,
    SlaResolved,
    RiskAcceptanceExpiration,
    ReportCreated,
    Other,
);

/// The notification scopes, as DefectDojo.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::service::notification_settings::Scope")]
pub enum NotificationScope {
    /// Superuser-managed: system channels and extra targets.
    System,
    /// A user's own channels.
    Personal,
    /// A user's settings for one product (with `userId`), or the product's extra recipients (without).
    Product,
    /// Copied to every new user.
    Template,
}

/// A way of notifying.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::recipients::Channel")]
pub enum NotificationChannel {
    /// In-app alert (always enabled).
    Alert,
    Mail,
    Slack,
    /// Microsoft Teams: system scope only.
    #[graphql(name = "MSTEAMS")]
    MsTeams,
    Webhook,
    /// PagerDuty: system scope only; `SLA_BREACH` and `SLA_BREACH_ESCALATION` trigger, `SLA_RESOLVED` resolves.
    Pager,
}

/// The body a webhook receives.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::webhook_format::WebhookFormat")]
pub enum WebhookFormat {
    /// DefectDojo's JSON keys plus SLA data.
    Json,
    /// GELF 1.1, for Graylog.
    Gelf,
}

/// Endpoint health, as DefectDojo.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::webhook_health::Health")]
pub enum WebhookStatus {
    Active,
    /// Failed recently, still receiving.
    ActiveTmp,
    /// Paused after failures; retried later.
    InactiveTmp,
    /// Refused for good (a 4xx answer); needs an update to resume.
    InactivePermanent,
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::delivery::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt.
    Pending,
    /// Failed at least once; another attempt is scheduled.
    Retrying,
    Delivered,
    /// Gave up (too many attempts, or refused for good); `retryDelivery` sends it again.
    Dead,
}

/// What happened in a finding's SLA.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::SlaEventKind")]
pub enum SlaEventKind {
    /// A threshold of the period remaining was crossed (`sla_breach_approaching`).
    BreachApproaching,
    /// The deadline passed (`sla_breach`).
    Breach,
    /// In breach for longer than the escalation delay (`sla_breach_escalation`).
    Escalation,
    /// Mitigated after a threshold was crossed (`sla_resolved`).
    Resolved,
}

/// A scanner report format an import reads (DefectDojo's `scan_type`).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::domain::scan_type::ScanType")]
pub enum ScanType {
    /// SARIF 2.1.0 (`SARIF`), every run.
    Sarif,
    /// Trivy's JSON report (`Trivy Scan`): vulnerabilities, misconfigurations and secrets.
    Trivy,
    /// DefectDojo's Generic Findings Import, JSON or CSV (`Generic Findings Import`).
    Generic,
    /// OWASP ZAP's XML report (`ZAP Scan`).
    Zap,
}
