//! Product types, products and memberships.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result};

use super::context::{ContextExt, connection_complexity, page_request, parse_id, parse_opt_id};
use super::types::enums::ProductRole;
use super::types::{Product, ProductMember, ProductType, TotalCount, connection};
use crate::service::products::ProductInput;
use crate::service::{members, product_types, products};

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    async fn product_types(&self, ctx: &Context<'_>) -> Result<Vec<ProductType>> {
        ctx.actor()?;
        Ok(product_types::list(ctx.state()?).await?.into_iter().map(ProductType).collect())
    }

    /// The products the caller may view.
    #[graphql(complexity = "connection_complexity(child_complexity, first, last)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        product_type_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Product, TotalCount>> {
        let type_id = parse_opt_id(product_type_id.as_ref())?;
        let request = page_request(ctx, first, after, last, before)?;
        let page = products::list(ctx.state()?, ctx.actor()?, type_id, request).await?;
        Ok(connection(page, |p| p.id, Product))
    }

    /// A product by id or by name; `NOT_FOUND` unless the caller may view it.
    async fn product(&self, ctx: &Context<'_>, id: Option<ID>, name: Option<String>) -> Result<Product> {
        let (state, actor) = (ctx.state()?, ctx.actor()?);
        let found = match (id, name) {
            (Some(id), None) => products::get(state, actor, parse_id(&id)?).await?,
            (None, Some(name)) => products::get_by_name(state, actor, &name).await?,
            _ => return Err(crate::error::ServiceError::bad_input("give either `id` or `name`").into()),
        };
        Ok(Product(found))
    }
}

/// A new product type.
#[derive(InputObject)]
pub struct ProductTypeInput {
    pub name: String,
    pub description: Option<String>,
}

/// Changes to a product type.
#[derive(InputObject)]
pub struct UpdateProductTypeInput {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// A new product (superusers): its name, product type and SLA configuration.
#[derive(InputObject)]
pub struct CreateProductInput {
    pub name: String,
    pub product_type_id: ID,
    pub description: Option<String>,
    /// Default: the system default configuration.
    pub sla_configuration_id: Option<ID>,
    #[graphql(default)]
    pub disable_sla_breach_notifications: bool,
}

/// Changes to a product; omitted fields keep their values.
#[derive(InputObject)]
pub struct UpdateProductInput {
    pub name: Option<String>,
    pub product_type_id: Option<ID>,
    pub description: Option<String>,
    /// Switching it recomputes every finding's deadline at once.
    pub sla_configuration_id: Option<ID>,
    pub disable_sla_breach_notifications: Option<bool>,
}

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Creates a product type (superusers).
    async fn create_product_type(&self, ctx: &Context<'_>, input: ProductTypeInput) -> Result<ProductType> {
        let ProductTypeInput { name, description } = input;
        Ok(ProductType(product_types::create(ctx.state()?, ctx.actor()?, &name, description).await?))
    }

    async fn update_product_type(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductTypeInput,
    ) -> Result<ProductType> {
        let UpdateProductTypeInput { name, description } = input;
        let id = parse_id(&id)?;
        Ok(ProductType(product_types::update(ctx.state()?, ctx.actor()?, id, name, description).await?))
    }

    /// Deletes an empty product type (superusers).
    async fn delete_product_type(&self, ctx: &Context<'_>, id: ID) -> Result<ProductType> {
        Ok(ProductType(product_types::delete(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Creates a product (superusers).
    async fn create_product(&self, ctx: &Context<'_>, input: CreateProductInput) -> Result<Product> {
        let input = pass_on!(input => CreateProductInput to ProductInput {
            description;
            name: Some(name),
            product_type_id: Some(parse_id(&product_type_id)?),
            sla_configuration_id: parse_opt_id(sla_configuration_id.as_ref())?,
            disable_sla_breach_notifications: Some(disable_sla_breach_notifications),
        });
        Ok(Product(products::create(ctx.state()?, ctx.actor()?, input).await?))
    }

    /// Updates a product (owners); a new SLA configuration recomputes its findings' deadlines.
    async fn update_product(&self, ctx: &Context<'_>, id: ID, input: UpdateProductInput) -> Result<Product> {
        let input = pass_on!(input => UpdateProductInput to ProductInput {
            name, description, disable_sla_breach_notifications;
            product_type_id: parse_opt_id(product_type_id.as_ref())?,
            sla_configuration_id: parse_opt_id(sla_configuration_id.as_ref())?,
        });
        Ok(Product(products::update(ctx.state()?, ctx.actor()?, parse_id(&id)?, input).await?))
    }

    /// Deletes a product with its findings and engagements (superusers).
    async fn delete_product(&self, ctx: &Context<'_>, id: ID) -> Result<Product> {
        Ok(Product(products::delete(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Adds a user to a product (owners).
    async fn add_product_member(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        user_id: ID,
        role: ProductRole,
    ) -> Result<ProductMember> {
        let (product_id, user_id) = (parse_id(&product_id)?, parse_id(&user_id)?);
        Ok(ProductMember(members::add(ctx.state()?, ctx.actor()?, product_id, user_id, role.into()).await?))
    }

    /// Changes a member's role (owners).
    async fn update_product_member(&self, ctx: &Context<'_>, id: ID, role: ProductRole) -> Result<ProductMember> {
        Ok(ProductMember(members::update(ctx.state()?, ctx.actor()?, parse_id(&id)?, role.into()).await?))
    }

    /// Removes a member (owners).
    async fn remove_product_member(&self, ctx: &Context<'_>, id: ID) -> Result<ProductMember> {
        Ok(ProductMember(members::remove(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }
}
