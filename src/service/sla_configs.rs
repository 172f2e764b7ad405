//! SLA configurations: CRUD (superusers), the default one, and mapping stored rows to `SlaPolicy`.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::domain::{EscalationHours, SeverityRule, SlaConfigurationId, SlaDays, SlaPolicy, Thresholds, validated};
use crate::entity::{product, sla_configuration};
use crate::error::{ServiceError, ServiceResult};
use crate::service::Actor;
use crate::service::sla_profile_history;
use crate::service::sla_recompute::{self, Scope};
use crate::state::AppState;

/// The fields of a configuration; on update, `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct SlaConfigInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub critical: Option<i64>,
    pub high: Option<i64>,
    pub medium: Option<i64>,
    pub low: Option<i64>,
    pub enforce_critical: Option<bool>,
    pub enforce_high: Option<bool>,
    pub enforce_medium: Option<bool>,
    pub enforce_low: Option<bool>,
    pub restart_sla_on_reactivation: Option<bool>,
    pub thresholds: Option<Vec<i64>>,
    pub escalation_hours: Option<i64>,
}

/// The domain policy of a stored configuration.
pub fn policy_of(model: &sla_configuration::Model) -> ServiceResult<SlaPolicy> {
    let rule = |days: i32, enforced: bool| -> ServiceResult<SeverityRule> {
        Ok(SeverityRule { days: SlaDays::new(i64::from(days))?, enforced })
    };
    let thresholds: Vec<i64> = serde_json::from_str(&model.thresholds).map_err(ServiceError::internal)?;
    Ok(SlaPolicy {
        critical: rule(model.critical_days, model.enforce_critical)?,
        high: rule(model.high_days, model.enforce_high)?,
        medium: rule(model.medium_days, model.enforce_medium)?,
        low: rule(model.low_days, model.enforce_low)?,
        restart_sla_on_reactivation: model.restart_sla_on_reactivation,
        thresholds: Thresholds::new(&thresholds)?,
        escalation: EscalationHours::new(i64::from(model.escalation_hours))?,
    })
}

/// Applies `input` over `base` and validates the result as a whole.
fn merged_policy(base: &SlaPolicy, input: &SlaConfigInput) -> ServiceResult<SlaPolicy> {
    let rule = |current: SeverityRule, days: Option<i64>, enforced: Option<bool>| -> ServiceResult<SeverityRule> {
        Ok(SeverityRule {
            days: days.map(SlaDays::new).transpose()?.unwrap_or(current.days),
            enforced: enforced.unwrap_or(current.enforced),
        })
    };
    Ok(SlaPolicy {
        critical: rule(base.critical, input.critical, input.enforce_critical)?,
        high: rule(base.high, input.high, input.enforce_high)?,
        medium: rule(base.medium, input.medium, input.enforce_medium)?,
        low: rule(base.low, input.low, input.enforce_low)?,
        restart_sla_on_reactivation: input.restart_sla_on_reactivation.unwrap_or(base.restart_sla_on_reactivation),
        thresholds: match &input.thresholds {
            Some(values) => Thresholds::new(values)?,
            None => base.thresholds.clone(),
        },
        escalation: input.escalation_hours.map(EscalationHours::new).transpose()?.unwrap_or(base.escalation),
    })
}

fn write_policy(model: &mut sla_configuration::ActiveModel, policy: &SlaPolicy) -> ServiceResult<()> {
    let days = |rule: SeverityRule| i32::try_from(rule.days.get()).map_err(ServiceError::internal);
    model.critical_days = Set(days(policy.critical)?);
    model.high_days = Set(days(policy.high)?);
    model.medium_days = Set(days(policy.medium)?);
    model.low_days = Set(days(policy.low)?);
    model.enforce_critical = Set(policy.critical.enforced);
    model.enforce_high = Set(policy.high.enforced);
    model.enforce_medium = Set(policy.medium.enforced);
    model.enforce_low = Set(policy.low.enforced);
    model.restart_sla_on_reactivation = Set(policy.restart_sla_on_reactivation);
    model.thresholds = Set(serde_json::to_string(policy.thresholds.as_slice()).map_err(ServiceError::internal)?);
    model.escalation_hours = Set(i32::try_from(policy.escalation.get()).map_err(ServiceError::internal)?);
    Ok(())
}

async fn ensure_name_free<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    except: Option<SlaConfigurationId>,
) -> ServiceResult<()> {
    let clash = sla_configuration::Entity::find().filter(sla_configuration::Column::Name.eq(name)).one(conn).await?;
    match clash {
        Some(existing) if Some(existing.id) != except => {
            Err(ServiceError::Conflict(format!("an SLA configuration named {name:?} already exists")))
        }
        _ => Ok(()),
    }
}

/// Creates a configuration; omitted values take the runbook's defaults.
pub async fn create(state: &AppState, actor: &Actor, input: SlaConfigInput) -> ServiceResult<sla_configuration::Model> {
    actor.require_superuser()?;
    let name = validated::name("name", input.name.as_deref().unwrap_or_default())?;
    let policy = merged_policy(&SlaPolicy::runbook_default(), &input)?;
    let txn = state.begin_write().await?;
    ensure_name_free(&txn, &name, None).await?;
    let mut model = sla_configuration::ActiveModel {
        name: Set(name),
        description: Set(input.description.unwrap_or_default()),
        is_default: Set(false),
        created_at: Set(state.clock.now().timestamp()),
        ..Default::default()
    };
    write_policy(&mut model, &policy)?;
    let created = model.insert(&txn).await?;
    txn.commit().await?;
    Ok(created)
}

/// Updates a configuration and, in the same transaction, recomputes the deadlines of every finding of
/// every product that uses it (one statement).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: SlaConfigurationId,
    input: SlaConfigInput,
) -> ServiceResult<(sla_configuration::Model, u64)> {
    actor.require_superuser()?;
    let txn = state.begin_write().await?;
    let found = get_in(&txn, id).await?;
    let before = policy_of(&found)?;
    let policy = merged_policy(&before, &input)?;
    let mut model: sla_configuration::ActiveModel = found.into();
    if let Some(name) = &input.name {
        let name = validated::name("name", name)?;
        ensure_name_free(&txn, &name, Some(id)).await?;
        model.name = Set(name);
    }
    if let Some(description) = &input.description {
        model.description = Set(description.clone());
    }
    write_policy(&mut model, &policy)?;
    let updated = model.update(&txn).await?;
    if let Some(change) = policy.period_changes_from(&before) {
        let summary = format!("{}: {change}", updated.name);
        sla_profile_history::record(&txn, state.clock.now().timestamp(), id, None, summary).await?;
    }
    let recomputed = if sla_recompute::deadlines_differ(&before, &policy) {
        sla_recompute::recompute(&txn, &policy, Scope::Configuration(id)).await?
    } else {
        0
    };
    txn.commit().await?;
    state.note_change();
    Ok((updated, recomputed))
}

/// Deletes a configuration that is neither the default nor used by a product.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    id: SlaConfigurationId,
) -> ServiceResult<sla_configuration::Model> {
    actor.require_superuser()?;
    let txn = state.begin_write().await?;
    let found = get_in(&txn, id).await?;
    if found.is_default {
        return Err(ServiceError::Conflict("the default SLA configuration cannot be deleted".to_owned()));
    }
    let users = product::Entity::find().filter(product::Column::SlaConfigurationId.eq(id)).count(&txn).await?;
    if users > 0 {
        return Err(ServiceError::Conflict(format!("the SLA configuration is used by {users} product(s)")));
    }
    sla_configuration::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(found)
}

async fn get_in<C: ConnectionTrait>(conn: &C, id: SlaConfigurationId) -> ServiceResult<sla_configuration::Model> {
    sla_configuration::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("SLA configuration"))
}

/// A configuration by id. Configurations are visible to every signed-in user (they hold no secrets).
pub async fn get<C: ConnectionTrait>(conn: &C, id: SlaConfigurationId) -> ServiceResult<sla_configuration::Model> {
    get_in(conn, id).await
}

/// The configurations of `ids` that exist, in one query.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[SlaConfigurationId],
) -> ServiceResult<Vec<sla_configuration::Model>> {
    Ok(sla_configuration::Entity::find()
        .filter(sla_configuration::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// All configurations, by name.
pub async fn list(state: &AppState) -> ServiceResult<Vec<sla_configuration::Model>> {
    Ok(sla_configuration::Entity::find().order_by_asc(sla_configuration::Column::Name).all(&state.db).await?)
}

/// The system default configuration.
pub async fn default_config<C: ConnectionTrait>(conn: &C) -> ServiceResult<sla_configuration::Model> {
    sla_configuration::Entity::find()
        .filter(sla_configuration::Column::IsDefault.eq(true))
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::internal("the default SLA configuration is missing"))
}
