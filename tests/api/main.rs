//! Integration tests: the real server over HTTP, a fresh database per test.

#![allow(clippy::disallowed_methods, reason = "tests and benches may read the real clock and their own environment")]

mod alerts;
mod authorization;
mod bad_input;
mod browser;
mod chat;
mod cli;
mod compliance;
mod crash;
mod crud;
mod database_outage;
mod defectdojo_sync;
mod delivery_lanes;
mod digest;
mod disk_full;
mod fake_dojo;
mod first_hour;
mod graphql_imports;
mod health;
mod helpers;
mod housekeeping;
mod identity;
mod imports;
mod instances;
mod js_client;
mod mail;
mod metrics;
mod migrations;
mod notifications;
mod pager;
mod readme;
mod receiver;
mod report_sharing;
mod rest;
mod routing;
mod runbook;
mod security;
mod sla;
mod smtp_sink;
mod startup_race;
mod subscriptions;
mod sweep;
mod test_sends;
mod webhooks;
mod ws_client;
