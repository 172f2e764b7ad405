//! Integration tests: the real server over HTTP, a fresh database per test.

mod alerts;
mod authorization;
mod bad_input;
mod chat;
mod compliance;
mod crash;
mod crud;
mod health;
mod helpers;
mod housekeeping;
mod identity;
mod instances;
mod js_client;
mod mail;
mod metrics;
mod notifications;
mod receiver;
mod rest;
mod runbook;
mod sla;
mod smtp_sink;
mod subscriptions;
mod sweep;
mod test_sends;
mod webhooks;
mod ws_client;
