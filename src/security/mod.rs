//! Credentials: password hashing, API tokens and JWTs. No database access here.

pub mod jwt;
pub mod password;
pub mod token;
