//! Product memberships: who may see and change a product, managed by its owners.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::{MembershipId, ProductId, ProductRole, UserId};
use crate::entity::product_member;
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::service::{Actor, access, users};
use crate::state::AppState;

/// A membership with its parsed role.
#[derive(Debug, Clone)]
pub struct Membership {
    pub id: MembershipId,
    pub product_id: ProductId,
    pub user_id: UserId,
    pub role: ProductRole,
}

fn membership(model: product_member::Model) -> Membership {
    Membership { id: model.id, product_id: model.product_id, user_id: model.user_id, role: model.role }
}

/// Adds a user to a product (owners).
pub async fn add(
    state: &AppState,
    actor: &Actor,
    product_id: ProductId,
    user_id: UserId,
    role: ProductRole,
) -> ServiceResult<Membership> {
    access::require_role(&state.db, actor, product_id, ProductRole::Owner).await?;
    users::get_unchecked(&state.db, user_id).await?;
    let existing = product_member::Entity::find()
        .filter(product_member::Column::ProductId.eq(product_id))
        .filter(product_member::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?;
    if existing.is_some() {
        return Err(ServiceError::Conflict("the user is already a member of the product".to_owned()));
    }
    let model = product_member::ActiveModel {
        product_id: Set(product_id),
        user_id: Set(user_id),
        role: Set(role),
        ..Default::default()
    };
    let added = membership(model.insert(&state.db).await?);
    state.announce(vec![Signal::Membership { user: user_id }]).await;
    Ok(added)
}

async fn owned(state: &AppState, actor: &Actor, id: MembershipId) -> ServiceResult<product_member::Model> {
    let found = product_member::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ServiceError::not_found("membership"))?;
    access::require_role(&state.db, actor, found.product_id, ProductRole::Owner).await?;
    Ok(found)
}

/// Changes a member's role (owners).
pub async fn update(state: &AppState, actor: &Actor, id: MembershipId, role: ProductRole) -> ServiceResult<Membership> {
    let found = owned(state, actor, id).await?;
    let mut model: product_member::ActiveModel = found.into();
    model.role = Set(role);
    let updated = model.update(&state.db).await?;
    state.note_change();
    Ok(membership(updated))
}

/// Removes a member (owners).
pub async fn remove(state: &AppState, actor: &Actor, id: MembershipId) -> ServiceResult<Membership> {
    let found = owned(state, actor, id).await?;
    product_member::Entity::delete_by_id(id).exec(&state.db).await?;
    state.announce(vec![Signal::Membership { user: found.user_id }]).await;
    Ok(membership(found))
}

/// The members of a product the actor may view.
pub async fn list(state: &AppState, actor: &Actor, product_id: ProductId) -> ServiceResult<Vec<Membership>> {
    access::product_role(&state.db, actor, product_id).await?;
    Ok(product_member::Entity::find()
        .filter(product_member::Column::ProductId.eq(product_id))
        .order_by_asc(product_member::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(membership)
        .collect())
}
