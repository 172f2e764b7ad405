//! Use cases: authorize the actor, open a transaction, map between entities and domain types.
//!
//! `graphql` and `rest` call these functions and never touch `entity` themselves.

pub mod access;
pub mod alerts;
pub(crate) mod arrived_history;
pub mod auth;
pub mod channel_health;
pub mod compliance;
pub mod defectdojo_findings;
pub(crate) mod defectdojo_reference;
pub mod defectdojo_sources;
pub mod defectdojo_sync;
pub mod deliveries;
pub mod demo;
pub mod engagements;
pub mod events;
pub mod finding_changes;
pub mod finding_counts;
pub mod finding_creation;
pub mod finding_filter;
pub mod finding_index;
pub mod finding_inputs;
pub mod finding_notes;
pub mod finding_reads;
pub mod finding_sla;
pub mod findings;
pub mod housekeeping;
pub mod job_leases;
pub mod members;
pub mod notification_settings;
pub mod outbox;
pub mod page;
pub mod product_types;
pub mod products;
pub mod report_shares;
pub mod reports;
pub mod risk;
pub mod scan_context;
pub mod scan_import;
pub mod scan_reading;
pub mod settings;
pub mod sla_configs;
pub mod sla_digest;
pub mod sla_profile_history;
pub mod sla_recompute;
pub mod sla_sweep;
pub mod sla_trend;
pub mod test_send;
pub mod text_search;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use access::Actor;
