//! slawatch: SLA deadlines of security findings, and the notifications around them.

pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod db;
pub mod domain;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod jobs;
pub mod live;
pub mod memo;
pub mod metrics;
pub mod notify;
pub mod report;
pub mod rest;
pub mod security;
pub mod service;
pub mod startup;
pub mod state;
pub mod web;
