//! Risk acceptance: accepting pauses a finding's SLA, ending it (by hand or at its expiry) resumes it, on a
//! new SLA cycle when the configuration restarts the SLA on reactivation. Expiry fires
//! `risk_acceptance_expiration`.

use crate::domain::FindingId;
use crate::domain::notification_payload::{Named, NotificationPayload};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::domain::recipients::Audience;
use crate::domain::{NotificationEvent, ProductRole, sla};
use crate::entity::finding;
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::service::findings::{editable, parse_stored, product_policy, restate};
use crate::service::outbox::{self, NewNotification};
use crate::service::{Actor, products};
use crate::state::AppState;

/// Accepts a finding's risk (owners), optionally until `expires_at`.
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    id: FindingId,
    expires_at: Option<DateTime<Utc>>,
) -> ServiceResult<finding::Model> {
    let now = state.clock.now();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(ServiceError::bad_input("expiresAt must be in the future"));
    }
    let txn = state.begin_write().await?;
    let found = editable(&txn, actor, id, ProductRole::Owner).await?;
    if found.risk_accepted {
        return Err(ServiceError::Conflict("the finding's risk is already accepted".to_owned()));
    }
    let updated = set_accepted(&txn, found, true, expires_at.map(|at| at.timestamp()), now).await?;
    txn.commit().await?;
    state.announce(vec![Signal::Finding { id: updated.id }]).await;
    Ok(updated)
}

/// Ends a risk acceptance by hand (owners).
pub async fn revoke(state: &AppState, actor: &Actor, id: FindingId) -> ServiceResult<finding::Model> {
    let now = state.clock.now();
    let txn = state.begin_write().await?;
    let found = editable(&txn, actor, id, ProductRole::Owner).await?;
    if !found.risk_accepted {
        return Err(ServiceError::Conflict("the finding's risk is not accepted".to_owned()));
    }
    let updated = set_accepted(&txn, found, false, None, now).await?;
    txn.commit().await?;
    state.announce(vec![Signal::Finding { id: updated.id }]).await;
    Ok(updated)
}

async fn set_accepted<C: ConnectionTrait>(
    conn: &C,
    found: finding::Model,
    accepted: bool,
    expires_at: Option<i64>,
    now: DateTime<Utc>,
) -> ServiceResult<finding::Model> {
    let policy = product_policy(conn, found.product_id).await?;
    let (mut start, severity, mut status) = parse_stored(&found)?;
    let mut cycle = found.sla_cycle;
    if !accepted {
        (start, cycle) = sla::start_after_reactivation(start, cycle, policy.restart_sla_on_reactivation, now);
    }
    status.risk_accepted = accepted;
    let mut model: finding::ActiveModel = found.into();
    model.sla_cycle = Set(cycle);
    model.risk_acceptance_expires_at = Set(expires_at);
    restate(&mut model, start, severity, &status, &policy, now);
    Ok(model.update(conn).await?)
}

/// Ends every acceptance whose expiry has come, each in its own transaction with its
/// `risk_acceptance_expiration` notification. Returns how many ended.
pub async fn expire_due(state: &AppState) -> ServiceResult<usize> {
    let now = state.clock.now();
    let due: Vec<FindingId> = finding::Entity::find()
        .select_only()
        .column(finding::Column::Id)
        .filter(finding::Column::RiskAcceptanceExpiresAt.lte(now.timestamp()))
        .filter(finding::Column::RiskAccepted.eq(true))
        .order_by_asc(finding::Column::RiskAcceptanceExpiresAt)
        .limit(500)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut ended = Vec::new();
    for id in due {
        let txn = state.begin_batch_write().await?;
        // Re-read inside the transaction: another instance may have ended it already.
        let Some(found) = finding::Entity::find_by_id(id).one(&txn).await?.filter(|f| f.risk_accepted) else {
            continue;
        };
        let product = products::get_unchecked(&txn, found.product_id).await?;
        let site = outbox::site_url(&txn).await?;
        let updated = set_accepted(&txn, found, false, None, now).await?;
        let notification = NewNotification {
            event: NotificationEvent::RiskAcceptanceExpiration,
            audience: Audience::FanOut,
            product_id: Some(updated.product_id),
            finding_id: Some(updated.id),
            title: format!("Risk acceptance expired: {}", updated.title),
            description: format!(
                "The risk acceptance of the {} finding \"{}\" in {} has expired; its SLA applies again.",
                updated.severity, updated.title, product.name
            ),
            url: Some(format!("{}/?finding={}", site.trim_end_matches('/'), updated.id)),
            payload: NotificationPayload {
                finding: Some(crate::service::events::finding_facts(&updated)),
                product: Some(Named { id: product.id, name: product.name.clone() }),
                ..NotificationPayload::default()
            },
            dedupe_key: Some(format!("risk_acceptance_expiration:{}:{}", updated.id, now.timestamp())),
            extra_targets: Vec::new(),
        };
        outbox::publish(&txn, now.timestamp(), notification).await?;
        txn.commit().await?;
        ended.push(Signal::Finding { id });
    }
    let count = ended.len();
    if count > 0 {
        state.wake_delivery();
        state.announce(ended).await;
    }
    Ok(count)
}
