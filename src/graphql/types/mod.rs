//! GraphQL object, input and enum types. Each wraps a service/entity value and exposes chosen fields only.

pub mod connection;
pub mod engagement;
pub mod enums;
pub mod finding;
pub mod notification;
pub mod product;
pub mod scalars;
pub mod scan_test;
pub mod settings;
pub mod sla_configuration;
pub mod user;

pub use connection::{TotalCount, connection};
pub use engagement::Engagement;
pub use finding::{Finding, SlaEvent};
pub use notification::{Alert, Delivery, NotificationSetting, Webhook};
pub use product::{Product, ProductMember, ProductType};
pub use scalars::Date;
pub use scan_test::{ScanImport, ScanTest};
pub use settings::{SystemHealth, SystemSettings};
pub use sla_configuration::SlaConfiguration;
pub use user::{ApiToken, User};

use chrono::{DateTime, Utc};

/// A stored epoch-seconds instant as a `DateTime` (None if out of range).
#[must_use]
pub fn instant(epoch_seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(epoch_seconds, 0)
}
