//! Keeping slawatch in step with a DefectDojo instance (superusers): `defectDojoSources`,
//! `createDefectDojoSource`, `updateDefectDojoSource`, `deleteDefectDojoSource`, `syncDefectDojoSource`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{ContextExt, parse_id};
use super::types::instant;
use crate::entity::defectdojo_source;
use crate::service::defectdojo_sources::{self, SourceChanges, SourceInput};
use crate::service::defectdojo_sync::{self, SyncReport};

#[derive(Default)]
pub struct DefectDojoQuery;

#[Object]
impl DefectDojoQuery {
    /// The DefectDojo instances slawatch keeps its copy in step with, and how their last sync went.
    async fn defect_dojo_sources(&self, ctx: &Context<'_>) -> Result<Vec<DefectDojoSource>> {
        let sources = defectdojo_sources::list(ctx.state()?, ctx.actor()?).await?;
        Ok(sources.into_iter().map(DefectDojoSource).collect())
    }
}

/// A DefectDojo instance to keep in step with.
#[derive(InputObject)]
pub struct DefectDojoSourceInput {
    /// Its base URL, such as `https://dojo.example.com`.
    pub url: String,
    /// An API v2 key of a DefectDojo user who may read what is to be synced. Write-only.
    pub token: String,
    /// Seconds between syncs (60 to 86400, default 300).
    pub interval: Option<i32>,
}

/// Changes to a DefectDojo source; omitted fields keep their values.
#[derive(InputObject)]
pub struct DefectDojoSourceChanges {
    /// Another address: the next run reads everything again.
    pub url: Option<String>,
    /// A new API v2 key (a revoked one replaced): the failures are cleared and the next run is due at once.
    /// Write-only.
    pub token: Option<String>,
    /// Seconds between syncs (60 to 86400).
    pub interval: Option<i32>,
}

#[derive(Default)]
pub struct DefectDojoMutation;

#[Object]
impl DefectDojoMutation {
    /// Adds a DefectDojo instance; the scheduler syncs it at once and then every interval.
    async fn create_defect_dojo_source(
        &self,
        ctx: &Context<'_>,
        input: DefectDojoSourceInput,
    ) -> Result<DefectDojoSource> {
        let DefectDojoSourceInput { url, token, interval } = input;
        let input = SourceInput { url, token, interval_seconds: interval };
        Ok(DefectDojoSource(defectdojo_sources::create(ctx.state()?, ctx.actor()?, input).await?))
    }

    /// Changes a source's address, token or interval.
    async fn update_defect_dojo_source(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DefectDojoSourceChanges,
    ) -> Result<DefectDojoSource> {
        let DefectDojoSourceChanges { url, token, interval } = input;
        let changes = SourceChanges { url, token, interval_seconds: interval };
        Ok(DefectDojoSource(defectdojo_sources::update(ctx.state()?, ctx.actor()?, parse_id(&id)?, changes).await?))
    }

    /// Stops keeping in step with a source. What it brought stays as slawatch's own (editable here again).
    async fn delete_defect_dojo_source(&self, ctx: &Context<'_>, id: ID) -> Result<DefectDojoSource> {
        Ok(DefectDojoSource(defectdojo_sources::delete(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }

    /// Syncs a source now and answers what changed (a failure is also written on the source).
    async fn sync_defect_dojo_source(&self, ctx: &Context<'_>, id: ID) -> Result<DefectDojoSyncReport> {
        let report = defectdojo_sync::run(ctx.state()?, ctx.actor()?, parse_id(&id)?, &|_, _| {}).await?;
        Ok(report.into())
    }
}

pub struct DefectDojoSource(defectdojo_source::Model);

/// A DefectDojo instance slawatch keeps in step with (its token is never shown).
#[Object]
impl DefectDojoSource {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Seconds between syncs.
    async fn interval(&self) -> i32 {
        self.0.interval_seconds
    }
    async fn last_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_run_at.and_then(instant)
    }
    async fn last_success_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_success_at.and_then(instant)
    }
    /// Why the last run stopped; null when it went through.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// Findings written (created, changed or closed) by all runs so far.
    async fn findings_synced(&self) -> i64 {
        self.0.findings_synced
    }
    /// Runs failed in a row (each doubles the wait before the next, up to an hour).
    async fn failures(&self) -> i32 {
        self.0.failures
    }
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_run_at.and_then(instant)
    }
}

/// What one sync changed.
#[derive(SimpleObject)]
pub struct DefectDojoSyncReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Findings DefectDojo no longer has, closed here.
    pub closed: u64,
    /// Records kept as DefectDojo stores them although slawatch would refuse them from a user.
    pub anomalies: u64,
    /// Records slawatch could not place (an unknown test or severity).
    pub skipped: u64,
    /// Deadlines recomputed because an SLA configuration changed or a product switched.
    pub recomputed: u64,
}

impl From<SyncReport> for DefectDojoSyncReport {
    fn from(report: SyncReport) -> Self {
        let f = report.findings;
        Self {
            created: f.created,
            updated: f.updated,
            unchanged: f.unchanged,
            closed: report.closed,
            anomalies: f.anomalies,
            skipped: f.skipped,
            recomputed: report.recomputed,
        }
    }
}
