//! sea-orm entities: one per table, mechanical, no logic. Instants are UTC epoch seconds.

pub mod alert;
pub mod api_token;
pub mod defectdojo_source;
pub mod delivery;
pub mod delivery_view;
pub mod engagement;
pub mod finding;
pub mod finding_note;
pub mod finding_reviewer;
pub mod job_lease;
pub mod listed_rows;
pub mod notification;
pub mod notification_setting;
pub mod product;
pub mod product_member;
pub mod product_type;
pub mod report;
pub mod report_schedule;
pub mod report_share;
pub mod scan_test;
pub mod sla_configuration;
pub mod sla_event;
pub mod sla_profile_change;
mod stored;
pub mod system_settings;
pub mod user;
pub mod webhook;
