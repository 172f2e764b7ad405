//! Engagements.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result};

use super::context::{ContextExt, connection_complexity, page_request, parse_id, parse_opt_id};
use super::types::enums::EngagementStatus;
use super::types::{Date, Engagement, TotalCount, connection};
use crate::service::engagements::{self, EngagementInput};

#[derive(Default)]
pub struct EngagementQuery;

#[Object]
impl EngagementQuery {
    /// Engagements of the products the caller may view.
    #[graphql(complexity = "connection_complexity(child_complexity, first, last)")]
    async fn engagements(
        &self,
        ctx: &Context<'_>,
        product_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Engagement, TotalCount>> {
        let product_id = parse_opt_id(product_id.as_ref())?;
        let page =
            engagements::list(ctx.state()?, ctx.actor()?, product_id, page_request(ctx, first, after, last, before)?)
                .await?;
        Ok(connection(page, |e| e.id, Engagement))
    }

    async fn engagement(&self, ctx: &Context<'_>, id: ID) -> Result<Engagement> {
        Ok(Engagement(engagements::get(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }
}

/// A new engagement of a product (product writers).
#[derive(InputObject)]
pub struct CreateEngagementInput {
    pub product_id: ID,
    pub name: String,
    pub description: Option<String>,
    /// Default: today.
    pub target_start: Option<Date>,
    /// Default: the start.
    pub target_end: Option<Date>,
    pub status: Option<EngagementStatus>,
    pub lead_id: Option<ID>,
}

/// Changes to an engagement; omitted fields keep their values.
#[derive(InputObject)]
pub struct UpdateEngagementInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub target_start: Option<Date>,
    pub target_end: Option<Date>,
    pub status: Option<EngagementStatus>,
    pub lead_id: Option<ID>,
}

#[derive(Default)]
pub struct EngagementMutation;

#[Object]
impl EngagementMutation {
    /// Creates an engagement (product writers).
    async fn create_engagement(&self, ctx: &Context<'_>, input: CreateEngagementInput) -> Result<Engagement> {
        let input = pass_on!(input => CreateEngagementInput to EngagementInput {
            description;
            product_id: Some(parse_id(&product_id)?),
            name: Some(name),
            target_start: target_start.map(|d| d.0),
            target_end: target_end.map(|d| d.0),
            status: status.map(Into::into),
            lead_id: parse_opt_id(lead_id.as_ref())?,
        });
        Ok(Engagement(engagements::create(ctx.state()?, ctx.actor()?, input).await?))
    }

    /// Updates an engagement (product writers).
    async fn update_engagement(&self, ctx: &Context<'_>, id: ID, input: UpdateEngagementInput) -> Result<Engagement> {
        let input = pass_on!(input => UpdateEngagementInput to EngagementInput {
            name, description;
            target_start: target_start.map(|d| d.0),
            target_end: target_end.map(|d| d.0),
            status: status.map(Into::into),
            lead_id: parse_opt_id(lead_id.as_ref())?,
        } also { product_id: None });
        Ok(Engagement(engagements::update(ctx.state()?, ctx.actor()?, parse_id(&id)?, input).await?))
    }

    /// Deletes an engagement (product owners).
    async fn delete_engagement(&self, ctx: &Context<'_>, id: ID) -> Result<Engagement> {
        Ok(Engagement(engagements::delete(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }
}
