//! Credentials: password hashing, API tokens and JWTs, and the login throttle. No database access here.

pub mod jwt;
pub mod login_throttle;
pub mod password;
pub mod report_links;
pub mod token;
