//! GraphQL enums and their conversions to and from the domain.

use async_graphql::Enum;

use crate::domain;

/// How bad a finding is. INFO never has an SLA.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl From<domain::Severity> for Severity {
    fn from(value: domain::Severity) -> Self {
        match value {
            domain::Severity::Critical => Self::Critical,
            domain::Severity::High => Self::High,
            domain::Severity::Medium => Self::Medium,
            domain::Severity::Low => Self::Low,
            domain::Severity::Info => Self::Info,
        }
    }
}

impl From<Severity> for domain::Severity {
    fn from(value: Severity) -> Self {
        match value {
            Severity::Critical => Self::Critical,
            Severity::High => Self::High,
            Severity::Medium => Self::Medium,
            Severity::Low => Self::Low,
            Severity::Info => Self::Info,
        }
    }
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

impl From<domain::SlaState> for SlaState {
    fn from(value: domain::SlaState) -> Self {
        match value {
            domain::SlaState::None => Self::None,
            domain::SlaState::OnTrack => Self::OnTrack,
            domain::SlaState::Approaching => Self::Approaching,
            domain::SlaState::Breached => Self::Breached,
            domain::SlaState::Met => Self::Met,
            domain::SlaState::Missed => Self::Missed,
        }
    }
}

impl From<SlaState> for domain::SlaState {
    fn from(value: SlaState) -> Self {
        match value {
            SlaState::None => Self::None,
            SlaState::OnTrack => Self::OnTrack,
            SlaState::Approaching => Self::Approaching,
            SlaState::Breached => Self::Breached,
            SlaState::Met => Self::Met,
            SlaState::Missed => Self::Missed,
        }
    }
}

/// A member's role in a product.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ProductRole {
    /// View the product and its findings.
    Reader,
    /// Also edit findings, engagements and notes.
    Writer,
    /// Also manage the product's settings, members and notifications.
    Owner,
}

impl From<domain::ProductRole> for ProductRole {
    fn from(value: domain::ProductRole) -> Self {
        match value {
            domain::ProductRole::Reader => Self::Reader,
            domain::ProductRole::Writer => Self::Writer,
            domain::ProductRole::Owner => Self::Owner,
        }
    }
}

impl From<ProductRole> for domain::ProductRole {
    fn from(value: ProductRole) -> Self {
        match value {
            ProductRole::Reader => Self::Reader,
            ProductRole::Writer => Self::Writer,
            ProductRole::Owner => Self::Owner,
        }
    }
}

/// Where an engagement stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum EngagementStatus {
    NotStarted,
    InProgress,
    Completed,
    Cancelled,
}

impl EngagementStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "NOT_STARTED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
        }
    }

    #[must_use]
    pub fn from_stored(text: &str) -> Self {
        match text {
            "IN_PROGRESS" => Self::InProgress,
            "COMPLETED" => Self::Completed,
            "CANCELLED" => Self::Cancelled,
            _ => Self::NotStarted,
        }
    }
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

impl From<NotificationScope> for crate::service::notification_settings::Scope {
    fn from(value: NotificationScope) -> Self {
        match value {
            NotificationScope::System => Self::System,
            NotificationScope::Personal => Self::Personal,
            NotificationScope::Product => Self::Product,
            NotificationScope::Template => Self::Template,
        }
    }
}

impl From<crate::service::notification_settings::Scope> for NotificationScope {
    fn from(value: crate::service::notification_settings::Scope) -> Self {
        use crate::service::notification_settings::Scope;
        match value {
            Scope::System => Self::System,
            Scope::Personal => Self::Personal,
            Scope::Product => Self::Product,
            Scope::Template => Self::Template,
        }
    }
}

/// A way of notifying.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum NotificationChannel {
    /// In-app alert (always enabled).
    Alert,
    Mail,
    Slack,
    /// Microsoft Teams: system scope only.
    Msteams,
    Webhook,
}

impl From<NotificationChannel> for crate::domain::recipients::Channel {
    fn from(value: NotificationChannel) -> Self {
        match value {
            NotificationChannel::Alert => Self::Alert,
            NotificationChannel::Mail => Self::Mail,
            NotificationChannel::Slack => Self::Slack,
            NotificationChannel::Msteams => Self::MsTeams,
            NotificationChannel::Webhook => Self::Webhook,
        }
    }
}

impl From<crate::domain::recipients::Channel> for NotificationChannel {
    fn from(value: crate::domain::recipients::Channel) -> Self {
        use crate::domain::recipients::Channel;
        match value {
            Channel::Alert => Self::Alert,
            Channel::Mail => Self::Mail,
            Channel::Slack => Self::Slack,
            Channel::MsTeams => Self::Msteams,
            Channel::Webhook => Self::Webhook,
        }
    }
}

/// The body a webhook receives.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum WebhookFormat {
    /// DefectDojo's JSON keys plus SLA data.
    Json,
    /// GELF 1.1, for Graylog.
    Gelf,
}

impl WebhookFormat {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::Gelf => "GELF",
        }
    }

    #[must_use]
    pub fn from_stored(text: &str) -> Self {
        if text == "GELF" { Self::Gelf } else { Self::Json }
    }
}

/// Endpoint health, as DefectDojo.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum WebhookStatus {
    Active,
    /// Failed recently, still receiving.
    ActiveTmp,
    /// Paused after failures; retried later.
    InactiveTmp,
    /// Refused for good (a 4xx answer); needs an update to resume.
    InactivePermanent,
}

impl From<crate::domain::webhook_health::Health> for WebhookStatus {
    fn from(value: crate::domain::webhook_health::Health) -> Self {
        use crate::domain::webhook_health::Health;
        match value {
            Health::Active => Self::Active,
            Health::ActiveTmp => Self::ActiveTmp,
            Health::InactiveTmp => Self::InactiveTmp,
            Health::InactivePermanent => Self::InactivePermanent,
        }
    }
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

impl From<domain::SlaEventKind> for SlaEventKind {
    fn from(value: domain::SlaEventKind) -> Self {
        match value {
            domain::SlaEventKind::BreachApproaching => Self::BreachApproaching,
            domain::SlaEventKind::Breach => Self::Breach,
            domain::SlaEventKind::Escalation => Self::Escalation,
            domain::SlaEventKind::Resolved => Self::Resolved,
        }
    }
}

impl From<SlaEventKind> for domain::SlaEventKind {
    fn from(value: SlaEventKind) -> Self {
        match value {
            SlaEventKind::BreachApproaching => Self::BreachApproaching,
            SlaEventKind::Breach => Self::Breach,
            SlaEventKind::Escalation => Self::Escalation,
            SlaEventKind::Resolved => Self::Resolved,
        }
    }
}
