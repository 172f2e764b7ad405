//! Product types: visible to every signed-in user, managed by superusers.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::domain::ProductTypeId;
use crate::domain::validated;
use crate::entity::{product, product_type};
use crate::error::{ServiceError, ServiceResult};
use crate::service::{Actor, events, outbox};
use crate::state::AppState;

async fn ensure_name_free<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    except: Option<ProductTypeId>,
) -> ServiceResult<()> {
    match product_type::Entity::find().filter(product_type::Column::Name.eq(name)).one(conn).await? {
        Some(existing) if Some(existing.id) != except => {
            Err(ServiceError::Conflict(format!("a product type named {name:?} already exists")))
        }
        _ => Ok(()),
    }
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    description: Option<String>,
) -> ServiceResult<product_type::Model> {
    actor.require_superuser()?;
    let name = validated::name("name", name)?;
    let now = state.clock.now().timestamp();
    let txn = state.begin_write().await?;
    ensure_name_free(&txn, &name, None).await?;
    let model = product_type::ActiveModel {
        name: Set(name),
        description: Set(description.unwrap_or_default()),
        created_at: Set(now),
        ..Default::default()
    };
    let created = model.insert(&txn).await?;
    let site = outbox::site_url(&txn).await?;
    outbox::publish(&txn, now, events::product_type_added(&created, &site)).await?;
    txn.commit().await?;
    state.wake_delivery();
    Ok(created)
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: ProductTypeId,
    name: Option<String>,
    description: Option<String>,
) -> ServiceResult<product_type::Model> {
    actor.require_superuser()?;
    let found = get(&state.db, id).await?;
    let mut model: product_type::ActiveModel = found.into();
    if let Some(name) = name {
        let name = validated::name("name", &name)?;
        ensure_name_free(&state.db, &name, Some(id)).await?;
        model.name = Set(name);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    Ok(model.update(&state.db).await?)
}

/// Deletes an empty product type.
pub async fn delete(state: &AppState, actor: &Actor, id: ProductTypeId) -> ServiceResult<product_type::Model> {
    actor.require_superuser()?;
    let found = get(&state.db, id).await?;
    let products = product::Entity::find().filter(product::Column::ProductTypeId.eq(id)).count(&state.db).await?;
    if products > 0 {
        return Err(ServiceError::Conflict(format!("the product type still has {products} product(s)")));
    }
    product_type::Entity::delete_by_id(id).exec(&state.db).await?;
    Ok(found)
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: ProductTypeId) -> ServiceResult<product_type::Model> {
    product_type::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| ServiceError::not_found("product type"))
}

pub async fn list(state: &AppState) -> ServiceResult<Vec<product_type::Model>> {
    Ok(product_type::Entity::find().order_by_asc(product_type::Column::Name).all(&state.db).await?)
}
