//! Who is acting, and what they may see and do: superusers everything, members by their product role.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::{ProductId, ProductRole, UserId};
use crate::entity::{product, product_member, user};
use crate::error::{ServiceError, ServiceResult};
use crate::kept::read_cache::Timed;
use crate::state::AppState;

/// The authenticated user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub username: String,
    pub is_superuser: bool,
}

impl From<user::Model> for Actor {
    /// The user acting as themself (a schedule's owner, a lead or reviewer whose access is checked).
    fn from(user: user::Model) -> Self {
        Self { user_id: user.id, username: user.username, is_superuser: user.is_superuser }
    }
}

impl Actor {
    /// slawatch itself acting as a superuser (the demo load, the command line), named for the logs.
    #[must_use]
    pub fn system(name: &str) -> Self {
        Self { user_id: UserId::new(0), username: name.to_owned(), is_superuser: true }
    }

    /// Refuses anyone but a superuser.
    pub fn require_superuser(&self) -> ServiceResult<()> {
        if self.is_superuser { Ok(()) } else { Err(ServiceError::Forbidden("only a superuser may do this".to_owned())) }
    }
}

/// The actor's role in a product. A product the actor may not view does not exist for them: `NOT_FOUND`.
pub async fn product_role<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    product_id: ProductId,
) -> ServiceResult<ProductRole> {
    product_roles(conn, actor, &[product_id])
        .await?
        .remove(&product_id)
        .ok_or_else(|| ServiceError::not_found("product"))
}

/// The actor's roles in those of `ids` they may view, in one query (a batch's products); a product missing
/// from the answer does not exist for them.
pub async fn product_roles<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    ids: &[ProductId],
) -> ServiceResult<HashMap<ProductId, ProductRole>> {
    if actor.is_superuser {
        let found = product::Entity::find().filter(product::Column::Id.is_in(ids.iter().copied())).all(conn).await?;
        return Ok(found.into_iter().map(|p| (p.id, ProductRole::Owner)).collect());
    }
    let memberships = product_member::Entity::find()
        .filter(product_member::Column::ProductId.is_in(ids.iter().copied()))
        .filter(product_member::Column::UserId.eq(actor.user_id))
        .all(conn)
        .await?;
    Ok(memberships.into_iter().map(|m| (m.product_id, m.role)).collect())
}

/// Requires at least `required` in the product: `NOT_FOUND` for a non-member, `FORBIDDEN` for a member whose
/// role is too low.
pub async fn require_role<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    product_id: ProductId,
    required: ProductRole,
) -> ServiceResult<ProductRole> {
    let role = product_role(conn, actor, product_id).await?;
    ensure_allows(role, required)?;
    Ok(role)
}

/// FORBIDDEN unless `role` includes `required`.
pub fn ensure_allows(role: ProductRole, required: ProductRole) -> ServiceResult<()> {
    if role.allows(required) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!("this needs the {} role in the product", required.as_str())))
    }
}

/// A condition "`product_column` is a product the actor may view", or `None` for a superuser (all).
pub fn visible_products(actor: &Actor, product_column: impl ColumnTrait) -> Option<SimpleExpr> {
    if actor.is_superuser {
        return None;
    }
    let member_of = Query::select()
        .column(product_member::Column::ProductId)
        .from(product_member::Entity)
        .and_where(Expr::col(product_member::Column::UserId).eq(actor.user_id))
        .to_owned();
    Some(product_column.in_subquery(member_of))
}

/// `visible_product_ids` for a request: a member's products are kept between requests until a membership
/// or user change is announced or a change noted (`LiveBus::catalog_changes`: adding, changing and removing
/// a membership all do), or `read_cache::MAX_AGE` passes.
pub async fn kept_visible_product_ids(state: &AppState, actor: &Actor) -> ServiceResult<Option<Vec<ProductId>>> {
    if actor.is_superuser {
        return Ok(None);
    }
    let generation = state.live.catalog_changes();
    let now = state.clock.now().timestamp();
    let ids = state
        .memberships
        .get_or_compute(actor.user_id.to_string(), generation, now, || async {
            let ids = visible_product_ids(&state.db, actor).await?.unwrap_or_default();
            Ok(Timed { value: Arc::new(ids), valid_until: None })
        })
        .await?;
    Ok(Some(ids.as_ref().clone()))
}

/// The ids of the products the actor may view (`None`: all of them).
pub async fn visible_product_ids<C: ConnectionTrait>(conn: &C, actor: &Actor) -> ServiceResult<Option<Vec<ProductId>>> {
    if actor.is_superuser {
        return Ok(None);
    }
    let ids = product_member::Entity::find()
        .filter(product_member::Column::UserId.eq(actor.user_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.product_id)
        .collect();
    Ok(Some(ids))
}
