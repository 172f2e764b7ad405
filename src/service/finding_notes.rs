//! Notes on findings (with `@mentions`) and review requests, both of which notify the named users.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::{FindingId, NotificationEvent, ProductRole, UserId, mentions};
use crate::entity::{finding, finding_note, finding_reviewer, user};
use crate::error::{ServiceError, ServiceResult};
use crate::service::findings::annotatable;
use crate::service::{Actor, access, events, outbox};
use crate::state::AppState;

/// Adds a note (writers), e.g. the reason for a delay. Users it `@mentions` who may view the product get
/// `user_mentioned`.
pub async fn add_note(
    state: &AppState,
    actor: &Actor,
    id: FindingId,
    text: &str,
) -> ServiceResult<finding_note::Model> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 10_000 {
        return Err(ServiceError::bad_input("a note must have between 1 and 10000 characters"));
    }
    let now = state.clock.now();
    let txn = state.begin_write().await?;
    let found = annotatable(&txn, actor, id, ProductRole::Writer).await?;
    let note = finding_note::ActiveModel {
        finding_id: Set(id),
        author_id: Set(Some(actor.user_id)),
        text: Set(text.to_owned()),
        created_at: Set(now.timestamp()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let names = mentions::mentions(text);
    if !names.is_empty() {
        let mentioned: Vec<UserId> = user::Entity::find()
            .filter(user::Column::Username.is_in(names))
            .filter(user::Column::Id.ne(actor.user_id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        if !mentioned.is_empty() {
            let site = outbox::site_url(&txn).await?;
            let event = events::directed_on_finding(
                NotificationEvent::UserMentioned,
                &found,
                &actor.username,
                mentioned,
                text,
                &site,
            );
            outbox::publish(&txn, now.timestamp(), event).await?;
        }
    }
    txn.commit().await?;
    state.wake_delivery();
    Ok(note)
}

/// Asks users who may view the product to review a finding (writers): they become reviewers and get
/// `review_requested`.
pub async fn request_review(
    state: &AppState,
    actor: &Actor,
    id: FindingId,
    reviewer_ids: &[UserId],
) -> ServiceResult<finding::Model> {
    if reviewer_ids.is_empty() {
        return Err(ServiceError::bad_input("name at least one reviewer"));
    }
    let now = state.clock.now().timestamp();
    let txn = state.begin_write().await?;
    let found = annotatable(&txn, actor, id, ProductRole::Writer).await?;
    for &reviewer in reviewer_ids {
        // Unknown, inactive and unable to view the product look the same: the error confirms no account.
        let no_such_reviewer = || ServiceError::NotFound(format!("user {reviewer} cannot review this finding"));
        let reviewer_actor = user::Entity::find_by_id(reviewer)
            .one(&txn)
            .await?
            .filter(|u| u.is_active)
            .map(Actor::from)
            .ok_or_else(no_such_reviewer)?;
        if access::product_role(&txn, &reviewer_actor, found.product_id).await.is_err() {
            return Err(no_such_reviewer());
        }
        let known = finding_reviewer::Entity::find()
            .filter(finding_reviewer::Column::FindingId.eq(id))
            .filter(finding_reviewer::Column::UserId.eq(reviewer))
            .one(&txn)
            .await?;
        if known.is_none() {
            finding_reviewer::ActiveModel { finding_id: Set(id), user_id: Set(reviewer), ..Default::default() }
                .insert(&txn)
                .await?;
        }
    }
    let site = outbox::site_url(&txn).await?;
    let text = format!("{} asks for a review of this {} finding.", actor.username, found.severity);
    let event = events::directed_on_finding(
        NotificationEvent::ReviewRequested,
        &found,
        &actor.username,
        reviewer_ids.to_vec(),
        &text,
        &site,
    );
    outbox::publish(&txn, now, event).await?;
    txn.commit().await?;
    state.wake_delivery();
    Ok(found)
}

/// The reviewers of a finding the caller has already been allowed to see.
pub async fn reviewers(state: &AppState, finding_id: FindingId) -> ServiceResult<Vec<UserId>> {
    Ok(finding_reviewer::Entity::find()
        .filter(finding_reviewer::Column::FindingId.eq(finding_id))
        .order_by_asc(finding_reviewer::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| r.user_id)
        .collect())
}

/// The notes of a finding the caller has already been allowed to see, oldest first.
pub async fn notes(state: &AppState, finding_id: FindingId) -> ServiceResult<Vec<finding_note::Model>> {
    Ok(finding_note::Entity::find()
        .filter(finding_note::Column::FindingId.eq(finding_id))
        .order_by_asc(finding_note::Column::Id)
        .all(&state.db)
        .await?)
}
