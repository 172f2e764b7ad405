//! The reference data a DefectDojo sync brings first, in one transaction: SLA configurations (a change of
//! days or enforcement recomputes deadlines, as a local change does), product types, products (a switched
//! configuration recomputes the product's deadlines) and engagements. A record is matched by the source and
//! DefectDojo's id, else adopted by name when slawatch has a row of that name not owned by any source; a
//! name another source owns is skipped with a warning.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryFilter, Set};

use crate::defectdojo::records;
use crate::domain::engagement_status::EngagementStatus;
use crate::domain::{
    DefectDojoSourceId, DojoId, EngagementId, ProductId, ProductTypeId, SlaConfigurationId, SlaPolicy,
};
use crate::entity::{engagement, product, product_type, sla_configuration};
use crate::error::{ServiceError, ServiceResult};
use crate::service::sla_configs;
use crate::service::sla_recompute::{self, Scope};

/// The local ids of what a source's records became.
#[derive(Default)]
pub(crate) struct Mapped {
    pub configurations: HashMap<DojoId, SlaConfigurationId>,
    pub product_types: HashMap<DojoId, ProductTypeId>,
    pub products: HashMap<DojoId, ProductId>,
    pub engagements: HashMap<DojoId, (ProductId, EngagementId)>,
    /// Deadlines recomputed by configuration changes.
    pub recomputed: u64,
}

/// The row `source` owns as DefectDojo's `external`, else an unowned one named `name`.
async fn local<E, C>(
    conn: &C,
    source: DefectDojoSourceId,
    external: DojoId,
    name: &str,
) -> ServiceResult<Lookup<E::Model>>
where
    E: EntityTrait,
    C: sea_orm::ConnectionTrait,
{
    let owned = E::find()
        .filter(Expr::col("source_id").eq(source.get()))
        .filter(Expr::col("external_id").eq(external.get()))
        .one(conn)
        .await?;
    if let Some(found) = owned {
        return Ok(Lookup::Found(found));
    }
    let named = E::find().filter(Expr::col("name").eq(name)).one(conn).await?;
    Ok(match named {
        None => Lookup::Missing,
        Some(found) => {
            let unowned =
                E::find().filter(Expr::col("name").eq(name)).filter(Expr::col("source_id").is_null()).one(conn).await?;
            if unowned.is_some() { Lookup::Found(found) } else { Lookup::NameTaken }
        }
    })
}

enum Lookup<M> {
    Found(M),
    Missing,
    NameTaken,
}

/// Writes `model` when it changed (inserting a new one); an unchanged row costs no statement.
async fn persist<A, C>(conn: &C, model: A) -> ServiceResult<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait
        + sea_orm::ActiveModelBehavior
        + sea_orm::TryIntoModel<<A::Entity as EntityTrait>::Model>
        + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
    C: sea_orm::ConnectionTrait,
{
    if model.is_changed() { Ok(model.save(conn).await?.try_into_model()?) } else { Ok(model.try_into_model()?) }
}

fn warn_name_taken(source: DefectDojoSourceId, what: &str, name: &str) {
    tracing::warn!(%source, what, name, "DefectDojo record skipped: another source owns a row of that name");
}

fn days(value: i32) -> Option<i32> {
    (value >= 1).then_some(value)
}

/// Brings `records` (DefectDojo's SLA configurations) into slawatch.
pub(crate) async fn sla_configurations<C: sea_orm::ConnectionTrait>(
    conn: &C,
    source: DefectDojoSourceId,
    records: &[records::SlaConfiguration],
    now: DateTime<Utc>,
    mapped: &mut Mapped,
) -> ServiceResult<()> {
    let defaults = SlaPolicy::runbook_default();
    for record in records {
        let (Some(critical), Some(high), Some(medium), Some(low)) =
            (days(record.critical), days(record.high), days(record.medium), days(record.low))
        else {
            tracing::warn!(%source, configuration = record.id, "DefectDojo SLA configuration skipped: days must be positive");
            continue;
        };
        let external = DojoId::new(record.id);
        let (mut model, before): (sla_configuration::ActiveModel, _) =
            match local::<sla_configuration::Entity, _>(conn, source, external, &record.name).await? {
                Lookup::Found(found) => {
                    let before = sla_configs::policy_of(&found)?;
                    (found.into(), Some(before))
                }
                Lookup::Missing => {
                    let thresholds =
                        serde_json::to_string(defaults.thresholds.as_slice()).map_err(ServiceError::internal)?;
                    let escalation = i32::try_from(defaults.escalation.get()).map_err(ServiceError::internal)?;
                    let model = sla_configuration::ActiveModel {
                        thresholds: Set(thresholds),
                        escalation_hours: Set(escalation),
                        is_default: Set(false),
                        created_at: Set(now.timestamp()),
                        ..Default::default()
                    };
                    (model, None)
                }
                Lookup::NameTaken => {
                    warn_name_taken(source, "SLA configuration", &record.name);
                    continue;
                }
            };
        model.source_id.set_ne(Some(source));
        model.external_id.set_ne(Some(external));
        model.name.set_ne(record.name.clone());
        model.description.set_ne(record.description.clone().unwrap_or_default());
        model.critical_days.set_ne(critical);
        model.high_days.set_ne(high);
        model.medium_days.set_ne(medium);
        model.low_days.set_ne(low);
        model.enforce_critical.set_ne(record.enforce_critical);
        model.enforce_high.set_ne(record.enforce_high);
        model.enforce_medium.set_ne(record.enforce_medium);
        model.enforce_low.set_ne(record.enforce_low);
        model.restart_sla_on_reactivation.set_ne(record.restart_sla_on_reactivation);
        let saved = persist(conn, model).await?;
        if let Some(before) = before {
            let after = sla_configs::policy_of(&saved)?;
            if sla_recompute::deadlines_differ(&before, &after) {
                mapped.recomputed += sla_recompute::recompute(conn, &after, Scope::Configuration(saved.id)).await?;
            }
        }
        mapped.configurations.insert(external, saved.id);
    }
    Ok(())
}

/// Brings `records` (DefectDojo's product types) into slawatch.
pub(crate) async fn product_types<C: sea_orm::ConnectionTrait>(
    conn: &C,
    source: DefectDojoSourceId,
    records: &[records::ProductType],
    now: DateTime<Utc>,
    mapped: &mut Mapped,
) -> ServiceResult<()> {
    for record in records {
        let external = DojoId::new(record.id);
        let mut model: product_type::ActiveModel =
            match local::<product_type::Entity, _>(conn, source, external, &record.name).await? {
                Lookup::Found(found) => found.into(),
                Lookup::Missing => product_type::ActiveModel { created_at: Set(now.timestamp()), ..Default::default() },
                Lookup::NameTaken => {
                    warn_name_taken(source, "product type", &record.name);
                    continue;
                }
            };
        model.source_id.set_ne(Some(source));
        model.external_id.set_ne(Some(external));
        model.name.set_ne(record.name.clone());
        model.description.set_ne(record.description.clone().unwrap_or_default());
        let saved = persist(conn, model).await?;
        mapped.product_types.insert(external, saved.id);
    }
    Ok(())
}

/// Brings `records` (DefectDojo's products) into slawatch; a product without a configuration uses the
/// default one, as in DefectDojo.
pub(crate) async fn products<C: sea_orm::ConnectionTrait>(
    conn: &C,
    source: DefectDojoSourceId,
    records: &[records::Product],
    now: DateTime<Utc>,
    mapped: &mut Mapped,
) -> ServiceResult<()> {
    let default_configuration = sla_configs::default_config(conn).await?.id;
    for record in records {
        let Some(&type_id) = mapped.product_types.get(&DojoId::new(record.prod_type)) else {
            tracing::warn!(%source, product = record.id, "DefectDojo product skipped: its product type was not synced");
            continue;
        };
        let configuration = record
            .sla_configuration
            .and_then(|id| mapped.configurations.get(&DojoId::new(id)).copied())
            .unwrap_or(default_configuration);
        let external = DojoId::new(record.id);
        let (mut model, switched): (product::ActiveModel, bool) =
            match local::<product::Entity, _>(conn, source, external, &record.name).await? {
                Lookup::Found(found) => {
                    let switched = found.sla_configuration_id != configuration;
                    (found.into(), switched)
                }
                Lookup::Missing => {
                    let model = product::ActiveModel { created_at: Set(now.timestamp()), ..Default::default() };
                    (model, false)
                }
                Lookup::NameTaken => {
                    warn_name_taken(source, "product", &record.name);
                    continue;
                }
            };
        model.source_id.set_ne(Some(source));
        model.external_id.set_ne(Some(external));
        model.name.set_ne(record.name.clone());
        model.description.set_ne(record.description.clone().unwrap_or_default());
        model.product_type_id.set_ne(type_id);
        model.sla_configuration_id.set_ne(configuration);
        model.disable_sla_breach_notifications.set_ne(record.disable_sla_breach_notifications);
        let saved = persist(conn, model).await?;
        if switched {
            let policy = sla_configs::policy_of(&sla_configs::get(conn, configuration).await?)?;
            mapped.recomputed += sla_recompute::recompute(conn, &policy, Scope::Product(saved.id)).await?;
        }
        mapped.products.insert(external, saved.id);
    }
    Ok(())
}

/// DefectDojo's engagement status as slawatch's (its other open statuses, such as `Blocked` or
/// `On Hold`, count as in progress).
fn status_of(text: Option<&str>) -> EngagementStatus {
    match text {
        None | Some("Not Started") => EngagementStatus::NotStarted,
        Some("Completed") => EngagementStatus::Completed,
        Some("Cancelled") => EngagementStatus::Cancelled,
        Some(_) => EngagementStatus::InProgress,
    }
}

/// Brings `records` (DefectDojo's engagements) into slawatch; engagements match by source and id only
/// (names repeat across products).
pub(crate) async fn engagements<C: sea_orm::ConnectionTrait>(
    conn: &C,
    source: DefectDojoSourceId,
    records: &[records::Engagement],
    now: DateTime<Utc>,
    mapped: &mut Mapped,
) -> ServiceResult<()> {
    use sea_orm::ColumnTrait;
    for record in records {
        let Some(&product_id) = mapped.products.get(&DojoId::new(record.product)) else {
            tracing::warn!(%source, engagement = record.id, "DefectDojo engagement skipped: its product was not synced");
            continue;
        };
        let external = DojoId::new(record.id);
        let found = engagement::Entity::find()
            .filter(engagement::Column::SourceId.eq(source))
            .filter(engagement::Column::ExternalId.eq(external))
            .one(conn)
            .await?;
        let mut model: engagement::ActiveModel = match found {
            Some(found) => found.into(),
            None => engagement::ActiveModel { created_at: Set(now.timestamp()), ..Default::default() },
        };
        model.source_id.set_ne(Some(source));
        model.external_id.set_ne(Some(external));
        model.product_id.set_ne(product_id);
        model.name.set_ne(record.name.clone().unwrap_or_else(|| format!("Engagement {}", record.id)));
        model.description.set_ne(record.description.clone().unwrap_or_default());
        model.target_start.set_ne(record.target_start);
        model.target_end.set_ne(record.target_end);
        model.status.set_ne(status_of(record.status.as_deref()));
        let saved = persist(conn, model).await?;
        mapped.engagements.insert(external, (product_id, saved.id));
    }
    Ok(())
}
