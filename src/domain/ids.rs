//! Typed ids of what slawatch stores: a finding's id is a `FindingId`, not an `i32` that could as well be a
//! product's, so passing one where the other is wanted does not compile. The number is the table's key; the
//! storage layer reads and writes them as integers (`entity::stored`), GraphQL as `ID`s.

/// What every typed id can do: wrap and unwrap its number, and name what it identifies in messages.
pub trait EntityId: Copy + Eq + std::hash::Hash + std::fmt::Display + std::fmt::Debug + Send + Sync + 'static {
    /// What it identifies, as messages say it ("invalid product id …").
    const WHAT: &'static str;
    /// The id of that number.
    fn new(raw: i32) -> Self;
    /// Its number.
    fn get(self) -> i32;
}

macro_rules! entity_ids {
    ($( $(#[$meta:meta])* $name:ident = $what:literal ),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(i32);

        impl EntityId for $name {
            const WHAT: &'static str = $what;

            fn new(raw: i32) -> Self {
                Self(raw)
            }

            fn get(self) -> i32 {
                self.0
            }
        }

        impl $name {
            /// The id of that number.
            #[must_use]
            pub const fn new(raw: i32) -> Self {
                Self(raw)
            }

            /// Its number.
            #[must_use]
            pub const fn get(self) -> i32 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )+};
}

entity_ids! {
    /// A finding (`findings.id`).
    FindingId = "finding",
    /// A product (`products.id`).
    ProductId = "product",
    /// A product type (`product_types.id`).
    ProductTypeId = "product type",
    /// An engagement (`engagements.id`).
    EngagementId = "engagement",
    /// A scan import's test (`tests.id`).
    TestId = "test",
    /// An SLA configuration (`sla_configurations.id`).
    SlaConfigurationId = "SLA configuration",
    /// A user (`users.id`).
    UserId = "user",
    /// A product membership (`product_members.id`).
    MembershipId = "membership",
    /// An API token (`api_tokens.id`).
    ApiTokenId = "API token",
    /// A webhook (`webhooks.id`).
    WebhookId = "webhook",
    /// A notification (`notifications.id`).
    NotificationId = "notification",
    /// A delivery of a notification to one receiver (`deliveries.id`).
    DeliveryId = "delivery",
    /// An alert in a user's in-app list (`alerts.id`).
    AlertId = "alert",
    /// A generated report (`reports.id`).
    ReportId = "report",
    /// A report schedule (`report_schedules.id`).
    ReportScheduleId = "report schedule",
    /// A signed link to a report (`report_shares.id`).
    ReportShareId = "report share",
    /// A DefectDojo instance kept in step (`defectdojo_sources.id`).
    DefectDojoSourceId = "DefectDojo source",
    /// DefectDojo's own id of a record it owns (unique within one source).
    DojoId = "DefectDojo id",
}
