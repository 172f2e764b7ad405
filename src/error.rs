//! The service layer's error and its one mapping to GraphQL `extensions.code` (and HTTP status).
//!
//! `ServiceError` deliberately has no `Display`: async-graphql converts any `Display` type into an error
//! without a code, so leaving it out makes `?` in a resolver go through the mapping below, always.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

tokio::task_local! {
    /// The id of the request being served, for log lines and internal error messages.
    pub static REQUEST_ID: String;
}

/// Why a use case did not happen. Messages are for users; internal causes are only logged.
#[derive(Debug)]
pub enum ServiceError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    BadInput(String),
    Conflict(String),
    RateLimited(String),
    /// The database cannot be reached (down, restarting, or no connection free within the bounded wait).
    Unavailable(String),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// "<what> not found": also what a non-member gets, so it cannot learn that a product exists.
    #[must_use]
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput(message.into())
    }

    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }

    /// The stable code clients branch on.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status of the REST interface for this error.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::BadInput(_) => 400,
            Self::Conflict(_) => 409,
            Self::RateLimited(_) => 429,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The message safe to show a client. An internal cause is logged here, once, with the request id.
    #[must_use]
    pub fn public_message(&self) -> String {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::BadInput(m)
            | Self::Conflict(m)
            | Self::RateLimited(m)
            | Self::Unavailable(m) => m.clone(),
            Self::Internal(cause) => {
                let request_id = REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned());
                tracing::error!(request_id, error = %cause, "internal error");
                format!("internal error (request id {request_id})")
            }
        }
    }
}

impl ServiceError {
    /// The full description, internal cause included: for the CLI and logs, never for API clients.
    #[must_use]
    pub fn detail(&self) -> String {
        match self {
            Self::Internal(cause) => format!("internal error: {cause}"),
            other => format!("{}: {}", other.code(), other.public_message()),
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("a record with the same name already exists".to_owned())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::Conflict("the record is referenced by or refers to another record".to_owned())
            }
            _ if disk_full(&err) => {
                tracing::error!(error = %err, "the database's disk is full");
                Self::Unavailable(
                    "the database's disk is full: nothing was written; try again once space is freed".to_owned(),
                )
            }
            _ if database_unreachable(&err) => {
                tracing::warn!(error = %err, "the database is unreachable");
                Self::Unavailable("the database is unavailable: try again shortly".to_owned())
            }
            _ => Self::Internal(Box::new(err)),
        }
    }
}

/// Whether `err` is the database's disk being full (SQLite `SQLITE_FULL`, PostgreSQL `disk_full`): the
/// statement's transaction is not committed, and a retry later can succeed.
fn disk_full(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            matches!(&**cause, Sqlx::Database(db) if matches!(db.code().as_deref(), Some("13" | "53100")))
        }
        _ => false,
    }
}

/// Whether `err` says the database could not be reached, rather than that a statement failed: no pooled
/// connection within the wait, a refused or broken connection.
fn database_unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(cause))
        | DbErr::Exec(RuntimeErr::SqlxError(cause))
        | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            matches!(&**cause, Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed)
        }
        _ => false,
    }
}

impl From<ServiceError> for async_graphql::Error {
    fn from(err: ServiceError) -> Self {
        let code = err.code();
        async_graphql::Error::new(err.public_message()).extend_with(|_, extensions| extensions.set("code", code))
    }
}

impl From<crate::domain::validated::Invalid> for ServiceError {
    fn from(err: crate::domain::validated::Invalid) -> Self {
        Self::BadInput(err.0)
    }
}

impl From<crate::domain::sla_policy::PolicyError> for ServiceError {
    fn from(err: crate::domain::sla_policy::PolicyError) -> Self {
        Self::BadInput(err.to_string())
    }
}

impl From<crate::domain::severity::UnknownSeverity> for ServiceError {
    fn from(err: crate::domain::severity::UnknownSeverity) -> Self {
        Self::BadInput(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_show_their_cause() {
        let err = ServiceError::internal("connection refused to 10.0.0.5 password=hunter2");
        let message = err.public_message();
        assert!(message.starts_with("internal error"));
        assert!(!message.contains("hunter2"));
        assert_eq!(err.code(), "INTERNAL");
    }

    #[test]
    fn every_error_maps_to_its_code_in_graphql() {
        let gql: async_graphql::Error = ServiceError::not_found("product").into();
        let code = gql.extensions.as_ref().and_then(|e| e.get("code")).cloned();
        assert_eq!(code, Some(async_graphql::Value::from("NOT_FOUND")));
        assert_eq!(gql.message, "product not found");
    }
}
