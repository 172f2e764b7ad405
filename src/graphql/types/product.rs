//! `ProductType`, `Product` and `ProductMember`.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::enums::ProductRole;
use super::{SlaConfiguration, User, instant};
use crate::entity::{product, product_type};
use crate::error::ServiceError;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::UserLoader;
use crate::service::members::Membership;
use crate::service::{members, product_types, sla_configs};

pub struct ProductType(pub product_type::Model);

/// A group of products (DefectDojo's product type).
#[Object]
impl ProductType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
}

/// A product: the unit of ownership, SLA configuration and notification settings.
pub struct Product(pub product::Model);

/// A product, with its SLA configuration, members and findings.
#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn product_type(&self, ctx: &Context<'_>) -> Result<ProductType> {
        Ok(ProductType(product_types::get(&ctx.state()?.db, self.0.product_type_id).await?))
    }
    /// The SLA configuration its findings' deadlines come from.
    async fn sla_configuration(&self, ctx: &Context<'_>) -> Result<SlaConfiguration> {
        Ok(SlaConfiguration(sla_configs::get(&ctx.state()?.db, self.0.sla_configuration_id).await?))
    }
    /// As DefectDojo: no SLA breach notifications for this product.
    async fn disable_sla_breach_notifications(&self) -> bool {
        self.0.disable_sla_breach_notifications
    }
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<ProductMember>> {
        let list = members::list(ctx.state()?, ctx.actor()?, self.0.id).await?;
        Ok(list.into_iter().map(ProductMember).collect())
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.created_at)
    }
}

/// A user's role in a product.
pub struct ProductMember(pub Membership);

/// A user's role in a product.
#[Object]
impl ProductMember {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn product_id(&self) -> ID {
        ID(self.0.product_id.to_string())
    }
    async fn role(&self) -> ProductRole {
        self.0.role.into()
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        let loader = ctx.data::<DataLoader<UserLoader>>()?;
        let found = loader.load_one(self.0.user_id).await.map_err(ServiceError::internal)?;
        Ok(User::from(found.ok_or_else(|| ServiceError::not_found("user"))?))
    }
}
