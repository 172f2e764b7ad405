//! SLA configurations.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::context::{ContextExt, parse_id};
use super::types::SlaConfiguration;
use crate::service::sla_configs::{self, SlaConfigInput};

#[derive(Default)]
pub struct SlaQuery;

#[Object]
impl SlaQuery {
    /// Every SLA configuration, by name.
    async fn sla_configurations(&self, ctx: &Context<'_>) -> Result<Vec<SlaConfiguration>> {
        ctx.actor()?;
        Ok(sla_configs::list(ctx.state()?).await?.into_iter().map(SlaConfiguration).collect())
    }

    async fn sla_configuration(&self, ctx: &Context<'_>, id: ID) -> Result<SlaConfiguration> {
        ctx.actor()?;
        Ok(SlaConfiguration(sla_configs::get(&ctx.state()?.db, parse_id(&id)?).await?))
    }
}

/// The fields of an SLA configuration. On create, omitted values take the runbook's defaults
/// (1/7/30/90 days, all enforced, thresholds 50 and 10 %, escalation after 48 h).
#[derive(InputObject, Default)]
pub struct SlaConfigurationInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Days for a Critical finding (≥ 1).
    pub critical: Option<i32>,
    pub high: Option<i32>,
    pub medium: Option<i32>,
    pub low: Option<i32>,
    pub enforce_critical: Option<bool>,
    pub enforce_high: Option<bool>,
    pub enforce_medium: Option<bool>,
    pub enforce_low: Option<bool>,
    pub restart_sla_on_reactivation: Option<bool>,
    /// Percentages of the period remaining (1–99) at which `sla_breach_approaching` fires.
    pub thresholds: Option<Vec<i32>>,
    pub escalation_hours: Option<i32>,
}

impl From<SlaConfigurationInput> for SlaConfigInput {
    fn from(input: SlaConfigurationInput) -> Self {
        pass_on!(input => SlaConfigurationInput to Self {
            name, description, enforce_critical, enforce_high, enforce_medium, enforce_low,
            restart_sla_on_reactivation;
            critical: critical.map(i64::from),
            high: high.map(i64::from),
            medium: medium.map(i64::from),
            low: low.map(i64::from),
            thresholds: thresholds.map(|t| t.into_iter().map(i64::from).collect()),
            escalation_hours: escalation_hours.map(i64::from),
        })
    }
}

#[derive(Default)]
pub struct SlaMutation;

#[Object]
impl SlaMutation {
    /// Creates an SLA configuration (superusers).
    async fn create_sla_configuration(
        &self,
        ctx: &Context<'_>,
        input: SlaConfigurationInput,
    ) -> Result<SlaConfiguration> {
        Ok(SlaConfiguration(sla_configs::create(ctx.state()?, ctx.actor()?, input.into()).await?))
    }

    /// Updates an SLA configuration (superusers); every affected finding's deadline is recomputed in the
    /// same transaction, in one statement.
    async fn update_sla_configuration(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SlaConfigurationInput,
    ) -> Result<SlaConfiguration> {
        let id = parse_id(&id)?;
        let (updated, _recomputed) = sla_configs::update(ctx.state()?, ctx.actor()?, id, input.into()).await?;
        Ok(SlaConfiguration(updated))
    }

    /// Deletes an SLA configuration that is neither the default nor in use (superusers).
    async fn delete_sla_configuration(&self, ctx: &Context<'_>, id: ID) -> Result<SlaConfiguration> {
        Ok(SlaConfiguration(sla_configs::delete(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }
}
