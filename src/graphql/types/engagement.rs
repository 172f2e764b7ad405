//! `Engagement`: a planned testing period of a product.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result};

use super::enums::EngagementStatus;
use super::{Date, Product, User};
use crate::entity::engagement;
use crate::error::ServiceError;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::UserLoader;
use crate::service::products;

pub struct Engagement(pub engagement::Model);

/// A period of testing of a product (a pentest, an audit), with its dates, status and lead.
#[Object]
impl Engagement {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn target_start(&self) -> Date {
        Date(self.0.target_start)
    }
    async fn target_end(&self) -> Date {
        Date(self.0.target_end)
    }
    async fn status(&self) -> EngagementStatus {
        self.0.status.into()
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Product> {
        Ok(Product(products::kept(ctx.state()?, self.0.product_id).await?))
    }
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(lead) = self.0.lead_id else { return Ok(None) };
        let loader = ctx.data::<DataLoader<UserLoader>>()?;
        Ok(loader.load_one(lead).await.map_err(ServiceError::internal)?.map(User::from))
    }
}
