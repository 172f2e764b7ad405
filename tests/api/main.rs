//! Integration tests: the real server over HTTP, a fresh database per test.

mod alerts;
mod authorization;
mod bad_input;
mod chat;
mod crash;
mod crud;
mod health;
mod helpers;
mod identity;
mod mail;
mod notifications;
mod receiver;
mod runbook;
mod sla;
mod smtp_sink;
mod sweep;
mod test_sends;
mod webhooks;
