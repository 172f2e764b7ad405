//! The `defectdojo_sources` table: a DefectDojo instance kept in step, and how its last sync went.

use sea_orm::entity::prelude::*;

use crate::domain::DefectDojoSourceId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "defectdojo_sources")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: DefectDojoSourceId,
    /// The instance's base URL (`https://dojo.example.com`), without `/api/v2`.
    pub url: String,
    /// The API v2 token slawatch calls with (write-only through the API).
    pub token: String,
    pub interval_seconds: i32,
    pub last_run_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// Why the last run stopped, when it did.
    pub last_error: Option<String>,
    /// Findings written by all runs so far.
    pub findings_synced: i64,
    /// Runs failed in a row (the back-off grows with it).
    pub failures: i32,
    /// When the scheduler runs it next.
    pub next_run_at: Option<i64>,
    /// The newest `last_status_update` (epoch seconds) a completed run saw: later runs ask for findings
    /// changed since (`None` until a full run completes).
    pub watermark: Option<i64>,
    /// When the next full run (every finding, deletions found) is due.
    pub next_full_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
