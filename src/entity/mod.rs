//! sea-orm entities: one per table, mechanical, no logic. Instants are UTC epoch seconds.

pub mod api_token;
pub mod engagement;
pub mod finding;
pub mod finding_note;
pub mod finding_reviewer;
pub mod product;
pub mod product_member;
pub mod product_type;
pub mod sla_configuration;
pub mod system_settings;
pub mod user;
