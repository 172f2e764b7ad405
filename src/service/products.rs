//! Products: created by superusers, configured by their owners, visible only to members.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::{ProductId, ProductRole, ProductTypeId, SlaConfigurationId, validated};
use crate::entity::product;
use crate::error::{ServiceError, ServiceResult};
use crate::kept::read_cache::Timed;
use crate::service::page::{self, Page, PageRequest};
use crate::service::sla_profile_history;
use crate::service::sla_recompute::{self, Scope};
use crate::service::{Actor, access, events, outbox, product_types, sla_configs};
use crate::state::AppState;

/// Fields of a product; on update `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub product_type_id: Option<ProductTypeId>,
    pub sla_configuration_id: Option<SlaConfigurationId>,
    pub disable_sla_breach_notifications: Option<bool>,
}

async fn ensure_name_free<C: ConnectionTrait>(conn: &C, name: &str, except: Option<ProductId>) -> ServiceResult<()> {
    match product::Entity::find().filter(product::Column::Name.eq(name)).one(conn).await? {
        Some(existing) if Some(existing.id) != except => {
            Err(ServiceError::Conflict(format!("a product named {name:?} already exists")))
        }
        _ => Ok(()),
    }
}

/// Creates a product (superusers). Without a configuration it uses the system default.
pub async fn create(state: &AppState, actor: &Actor, input: ProductInput) -> ServiceResult<product::Model> {
    actor.require_superuser()?;
    let ProductInput { name, description, product_type_id, sla_configuration_id, disable_sla_breach_notifications } =
        input;
    let name = validated::name("name", name.as_deref().unwrap_or_default())?;
    let product_type_id = product_type_id.ok_or_else(|| ServiceError::bad_input("productTypeId is required"))?;
    let txn = state.begin_write().await?;
    product_types::get(&txn, product_type_id).await?;
    let sla_configuration_id = match sla_configuration_id {
        Some(id) => sla_configs::get(&txn, id).await?.id,
        None => sla_configs::default_config(&txn).await?.id,
    };
    ensure_name_free(&txn, &name, None).await?;
    let model = product::ActiveModel {
        name: Set(name),
        description: Set(description.unwrap_or_default()),
        product_type_id: Set(product_type_id),
        sla_configuration_id: Set(sla_configuration_id),
        disable_sla_breach_notifications: Set(disable_sla_breach_notifications.unwrap_or(false)),
        created_at: Set(state.clock.now().timestamp()),
        ..Default::default()
    };
    let created = model.insert(&txn).await?;
    let site = outbox::site_url(&txn).await?;
    outbox::publish(&txn, state.clock.now().timestamp(), events::product_added(&created, &site)).await?;
    txn.commit().await?;
    state.wake_delivery();
    Ok(created)
}

/// Updates a product (owners). Switching its SLA configuration recomputes its findings' deadlines in the
/// same transaction.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: ProductId,
    input: ProductInput,
) -> ServiceResult<product::Model> {
    let ProductInput { name, description, product_type_id, sla_configuration_id, disable_sla_breach_notifications } =
        input;
    let txn = state.begin_write().await?;
    access::require_role(&txn, actor, id, ProductRole::Owner).await?;
    let found = get_unchecked(&txn, id).await?;
    let previous_configuration = found.sla_configuration_id;
    let mut model: product::ActiveModel = found.into();
    if let Some(name) = name {
        let name = validated::name("name", &name)?;
        if !actor.is_superuser && name != *model.name.as_ref() {
            // Names are unique across all products: an owner's rename that failed on a taken name would
            // tell them that a product they may not view exists.
            return Err(ServiceError::Forbidden("only a superuser may rename a product".to_owned()));
        }
        ensure_name_free(&txn, &name, Some(id)).await?;
        model.name = Set(name);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    if let Some(type_id) = product_type_id {
        product_types::get(&txn, type_id).await?;
        model.product_type_id = Set(type_id);
    }
    if let Some(flag) = disable_sla_breach_notifications {
        model.disable_sla_breach_notifications = Set(flag);
    }
    let new_configuration = match sla_configuration_id {
        Some(config_id) if config_id != previous_configuration => Some(sla_configs::get(&txn, config_id).await?),
        _ => None,
    };
    if let Some(config) = &new_configuration {
        model.sla_configuration_id = Set(config.id);
    }
    let updated = model.update(&txn).await?;
    if let Some(config) = new_configuration {
        let previous = sla_configs::get(&txn, previous_configuration).await?;
        let summary = format!("{} moved from {} to {}", updated.name, previous.name, config.name);
        let now = state.clock.now().timestamp();
        sla_profile_history::record(&txn, now, config.id, Some(id), summary).await?;
        sla_recompute::recompute(&txn, &sla_configs::policy_of(&config)?, Scope::Product(id)).await?;
    }
    txn.commit().await?;
    state.note_change();
    Ok(updated)
}

/// Deletes a product and everything in it (superusers).
pub async fn delete(state: &AppState, actor: &Actor, id: ProductId) -> ServiceResult<product::Model> {
    actor.require_superuser()?;
    let found = get_unchecked(&state.db, id).await?;
    product::Entity::delete_by_id(id).exec(&state.db).await?;
    state.note_change();
    Ok(found)
}

/// A product the actor may view.
pub async fn get(state: &AppState, actor: &Actor, id: ProductId) -> ServiceResult<product::Model> {
    access::product_role(&state.db, actor, id).await?;
    get_unchecked(&state.db, id).await
}

/// A product by name, if the actor may view it.
pub async fn get_by_name(state: &AppState, actor: &Actor, name: &str) -> ServiceResult<product::Model> {
    let found = product::Entity::find()
        .filter(product::Column::Name.eq(name))
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))?;
    access::product_role(&state.db, actor, found.id).await?;
    Ok(found)
}

pub(crate) async fn get_unchecked<C: ConnectionTrait>(conn: &C, id: ProductId) -> ServiceResult<product::Model> {
    product::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| ServiceError::not_found("product"))
}

/// The products the actor may view.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    product_type_id: Option<ProductTypeId>,
    request: PageRequest,
) -> ServiceResult<Page<product::Model>> {
    let mut select = product::Entity::find();
    if let Some(condition) = access::visible_products(actor, product::Column::Id) {
        select = select.filter(condition);
    }
    if let Some(type_id) = product_type_id {
        select = select.filter(product::Column::ProductTypeId.eq(type_id));
    }
    page::fetch(&state.db, select, product::Column::Id, request, state.config.limits.max_page_size).await
}

/// The names of the products of `ids` that exist, for rows that refer to them (the caller has checked
/// visibility), from `kept_by_ids`.
pub async fn names(state: &AppState, ids: &[ProductId]) -> ServiceResult<HashMap<ProductId, String>> {
    Ok(kept_by_ids(state, ids).await?.into_iter().map(|p| (p.id, p.name)).collect())
}

/// The products of `ids` that exist, for what refers to them (the caller has checked visibility): every
/// product is kept until a change other than a finding's is noted (an edit, a removal, a sync) or
/// `read_cache::MAX_AGE` passes; a product made since then is read on its own. Live events name their
/// finding's product on every dashboard they reach, so this must not be a query each.
pub async fn kept_by_ids(state: &AppState, ids: &[ProductId]) -> ServiceResult<Vec<product::Model>> {
    let generation = state.live.catalog_changes();
    let now = state.clock.now().timestamp();
    let every = state
        .catalog
        .products
        .get_or_compute(String::new(), generation, now, || async {
            let all = product::Entity::find().all(&state.db).await?;
            Ok(Timed { value: Arc::new(all.into_iter().map(|p| (p.id, p)).collect()), valid_until: None })
        })
        .await?;
    let mut found: Vec<product::Model> = ids.iter().filter_map(|id| every.get(id).cloned()).collect();
    let unknown: Vec<ProductId> = ids.iter().copied().filter(|id| !every.contains_key(id)).collect();
    if !unknown.is_empty() {
        found.extend(by_ids(&state.db, &unknown).await?);
    }
    Ok(found)
}

/// The product `id` refers to, as `kept_by_ids` has it (the caller has checked visibility of what refers to
/// it).
pub async fn kept(state: &AppState, id: ProductId) -> ServiceResult<product::Model> {
    kept_by_ids(state, &[id]).await?.pop().ok_or_else(|| ServiceError::not_found("product"))
}

/// Products by id, read now: the caller has already checked visibility of what refers to them.
pub async fn by_ids<C: ConnectionTrait>(conn: &C, ids: &[ProductId]) -> ServiceResult<Vec<product::Model>> {
    Ok(product::Entity::find()
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(product::Column::Id)
        .all(conn)
        .await?)
}
