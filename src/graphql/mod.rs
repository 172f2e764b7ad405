//! The GraphQL API: schema roots per area, thin resolvers that call `service`, and the HTTP endpoint.

#[macro_use]
mod pass_on;

pub mod auth;
mod compact_document;
pub mod context;
pub mod defectdojo;
pub mod engagements;
pub mod findings;
pub mod http;
pub mod imports;
pub mod loaders;
pub mod notifications;
pub mod products;
pub mod query_cost;
pub mod report_shares;
pub mod reports;
pub mod settings;
pub mod sla;
pub mod subscriptions;
pub mod trends;
pub mod types;
pub mod ws;
mod ws_runtime;
pub mod ws_session;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

use subscriptions::SubscriptionRoot;

use crate::config::Limits;

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    auth::AuthQuery,
    products::ProductQuery,
    engagements::EngagementQuery,
    findings::FindingQuery,
    notifications::NotificationQuery,
    sla::SlaQuery,
    settings::SettingsQuery,
    reports::ReportQuery,
    trends::TrendQuery,
    defectdojo::DefectDojoQuery,
);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    auth::AuthMutation,
    products::ProductMutation,
    engagements::EngagementMutation,
    findings::FindingMutation,
    notifications::NotificationMutation,
    sla::SlaMutation,
    settings::SettingsMutation,
    reports::ReportMutation,
    report_shares::ReportShareMutation,
    imports::ImportMutation,
    defectdojo::DefectDojoMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema with its limits, for documents measured before they reach it (`GraphqlEndpoint::parsed`: every
/// HTTP request); the caller adds the state as data. It has no extension: with one, async-graphql resolves
/// every field through the extensions' chain (a registry look-up and a boxed future a field).
#[must_use]
pub fn schema_builder(limits: &Limits) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
        .limit_depth(limits.max_query_depth)
        .limit_complexity(limits.max_query_complexity)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .limit_directives(32)
}

/// The schema for websocket operations, which async-graphql's protocol parses itself: `query_cost::CostLimit`
/// measures each document as it is parsed.
#[must_use]
pub fn socket_schema_builder(limits: &Limits) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    schema_builder(limits).extension(query_cost::CostLimit(cost_limits(limits)))
}

/// How deep a document may nest through fields and fragments (async-graphql's recursion limit too).
const MAX_RECURSIVE_DEPTH: usize = 64;

/// The limits every document is measured against before async-graphql looks at it.
#[must_use]
pub fn cost_limits(limits: &Limits) -> query_cost::CostLimits {
    query_cost::CostLimits { max_fields: limits.max_query_fields, max_depth: MAX_RECURSIVE_DEPTH }
}

/// The SDL, as checked in at `schema.graphql`.
#[must_use]
pub fn sdl() -> String {
    schema_builder(&Limits::default()).finish().sdl()
}
