//! Domain types stored as text columns: a column holds the type itself (`delivery.status` is a
//! `DeliveryStatus`), written with its `as_str` and read back with its `FromStr`. The text in the database
//! stays what it was; a stored value the type does not know fails the read with a type error instead of
//! turning into some default.

/// Makes `$kind` (with `as_str(self) -> &'static str` and `FromStr`) a sea-orm column type stored as text.
macro_rules! stored_as_text {
    ($($kind:ty),+ $(,)?) => {$(
        impl From<$kind> for sea_orm::Value {
            fn from(value: $kind) -> Self {
                sea_orm::Value::String(Some(value.as_str().to_owned()))
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
    )+};
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
);
