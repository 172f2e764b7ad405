//! The history of SLA profiles: a configuration's days changed, or a product moved to another configuration
//! (`sla_profile_changes`, written in the transaction of the change), read back for the compliance report.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::compliance::Period;
use crate::domain::{ProductId, SlaConfigurationId};
use crate::entity::sla_profile_change;
use crate::error::ServiceResult;
use crate::service::finding_sla::instant;

/// A change of profile, as the compliance report states it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProfileChange {
    pub changed_at: DateTime<Utc>,
    /// What changed, in words ("Default: Low 90 d → 120 d", "Golem Portal moved from Default to Strict").
    pub summary: String,
}

/// Records a change of profile at `now`: of the configuration itself (`product_id` none), or a product
/// moved to it.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    now: i64,
    sla_configuration_id: SlaConfigurationId,
    product_id: Option<ProductId>,
    summary: String,
) -> ServiceResult<()> {
    sla_profile_change::ActiveModel {
        changed_at: Set(now),
        sla_configuration_id: Set(sla_configuration_id),
        product_id: Set(product_id),
        summary: Set(summary),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The changes in `period` that concern `products` (moved) or `configurations` (changed), oldest first.
pub async fn changes_in<C: ConnectionTrait>(
    conn: &C,
    period: Period,
    products: &[ProductId],
    configurations: &[SlaConfigurationId],
) -> ServiceResult<Vec<ProfileChange>> {
    let rows = sla_profile_change::Entity::find()
        .filter(sla_profile_change::Column::ChangedAt.gte(period.start.timestamp()))
        .filter(sla_profile_change::Column::ChangedAt.lt(period.end.timestamp()))
        .filter(
            Condition::any().add(sla_profile_change::Column::ProductId.is_in(products.iter().copied())).add(
                Condition::all()
                    .add(sla_profile_change::Column::ProductId.is_null())
                    .add(sla_profile_change::Column::SlaConfigurationId.is_in(configurations.iter().copied())),
            ),
        )
        .order_by_asc(sla_profile_change::Column::ChangedAt)
        .order_by_asc(sla_profile_change::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some(ProfileChange { changed_at: instant(row.changed_at)?, summary: row.summary }))
        .collect())
}
