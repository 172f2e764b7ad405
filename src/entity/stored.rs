//! Domain types stored as text columns: a column holds the type itself (`delivery.status` is a
//! `DeliveryStatus`), written with its `as_str` and read back with its `FromStr`. The text in the database
//! stays what it was; a stored value the type does not know fails the read with a type error instead of
//! turning into some default.

/// Makes each `$kind` a sea-orm column type stored as text: written with its `as_str(self) -> &'static str`
/// (or, after `display:`, its `Display`), read back with its `FromStr`.
macro_rules! stored_as_text {
    (display: $($kind:ty),+ $(,)?) => {$(
        stored_as_text!(@column $kind, |value: $kind| value.to_string());
    )+};
    ($($kind:ty),+ $(,)?) => {$(
        stored_as_text!(@column $kind, |value: $kind| value.as_str().to_owned());
    )+};
    (@column $kind:ty, $text:expr) => {
        impl From<$kind> for sea_orm::Value {
            fn from(value: $kind) -> Self {
                sea_orm::Value::String(Some(($text)(value)))
            }
        }

        impl sea_orm::TryGetable for $kind {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                index: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let text = <String as sea_orm::TryGetable>::try_get_by(res, index)?;
                text.parse::<$kind>()
                    .map_err(|err| sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(err.to_string())))
            }
        }

        impl sea_orm::sea_query::ValueType for $kind {
            fn try_from(value: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                match value {
                    sea_orm::Value::String(Some(text)) => {
                        text.parse::<$kind>().map_err(|_| sea_orm::sea_query::ValueTypeErr)
                    }
                    _ => Err(sea_orm::sea_query::ValueTypeErr),
                }
            }

            fn type_name() -> String {
                stringify!($kind).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::Text
            }
        }

        impl sea_orm::sea_query::Nullable for $kind {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }
    };
}

stored_as_text!(
    crate::domain::delivery::DeliveryStatus,
    crate::domain::recipients::Channel,
    crate::domain::Severity,
    crate::domain::ProductRole,
    crate::domain::SlaEventKind,
    crate::domain::webhook_health::Health,
    crate::domain::NotificationEvent,
    crate::domain::webhook_format::WebhookFormat,
    crate::domain::engagement_status::EngagementStatus,
    crate::domain::report_format::ReportFormat,
    crate::domain::compliance::RelativePeriod,
    crate::domain::scan_type::ScanType,
);

stored_as_text!(display: crate::domain::recipients::Target, crate::domain::tags::Tags);

/// Makes each typed id (`domain::ids`) a sea-orm integer column, and a primary key where it is one.
macro_rules! stored_as_integer {
    ($($kind:ty),+ $(,)?) => {$(
        impl From<$kind> for sea_orm::Value {
            fn from(value: $kind) -> Self {
                sea_orm::Value::Int(Some(value.get()))
            }
        }

        impl sea_orm::TryGetable for $kind {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                index: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                <i32 as sea_orm::TryGetable>::try_get_by(res, index).map(<$kind>::new)
            }
        }

        impl sea_orm::sea_query::ValueType for $kind {
            fn try_from(value: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                <i32 as sea_orm::sea_query::ValueType>::try_from(value).map(<$kind>::new)
            }

            fn type_name() -> String {
                stringify!($kind).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::Int
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::Integer
            }
        }

        impl sea_orm::sea_query::Nullable for $kind {
            fn null() -> sea_orm::Value {
                sea_orm::Value::Int(None)
            }
        }

        impl sea_orm::TryFromU64 for $kind {
            fn try_from_u64(n: u64) -> Result<Self, sea_orm::DbErr> {
                <i32 as sea_orm::TryFromU64>::try_from_u64(n).map(<$kind>::new)
            }
        }
    )+};
}

stored_as_integer!(
    crate::domain::ids::FindingId,
    crate::domain::ids::ProductId,
    crate::domain::ids::ProductTypeId,
    crate::domain::ids::EngagementId,
    crate::domain::ids::TestId,
    crate::domain::ids::SlaConfigurationId,
    crate::domain::ids::UserId,
    crate::domain::ids::MembershipId,
    crate::domain::ids::ApiTokenId,
    crate::domain::ids::WebhookId,
    crate::domain::ids::NotificationId,
    crate::domain::ids::DeliveryId,
    crate::domain::ids::AlertId,
    crate::domain::ids::ReportId,
    crate::domain::ids::ReportScheduleId,
    crate::domain::ids::ReportShareId,
    crate::domain::ids::DefectDojoSourceId,
    crate::domain::ids::DojoId,
);
