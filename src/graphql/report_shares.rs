//! Links to a report for people without an account: `shareReport`, `revokeReportShare`.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::context::{ContextExt, parse_id};
use super::types::instant;
use crate::service::report_shares::{self, Share};

#[derive(Default)]
pub struct ReportShareMutation;

#[Object]
impl ReportShareMutation {
    /// A signed link that opens one kept report without an account, until it expires (`expiresInDays`, 1 to
    /// 365, default 30) or is revoked: for an auditor. Whoever may fetch the report may share it.
    async fn share_report(&self, ctx: &Context<'_>, id: ID, expires_in_days: Option<i32>) -> Result<ReportShare> {
        let days = expires_in_days.map(i64::from);
        let share = report_shares::share(ctx.state()?, ctx.actor()?, parse_id(&id)?, days).await?;
        Ok(ReportShare(share))
    }

    /// Stops a link from opening its report, at once.
    async fn revoke_report_share(&self, ctx: &Context<'_>, id: ID) -> Result<ReportShare> {
        Ok(ReportShare(report_shares::revoke(ctx.state()?, ctx.actor()?, parse_id(&id)?).await?))
    }
}

pub struct ReportShare(Share);

/// A link to one report that opens without an account (`GET /reports/{id}?share=…&exp=…&sig=…`).
#[Object]
impl ReportShare {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn report_id(&self) -> ID {
        ID(self.0.report_id.to_string())
    }
    /// The link itself: anyone holding it can fetch the report until it expires or is revoked.
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        instant(self.0.expires_at)
    }
    async fn revoked(&self) -> bool {
        self.0.revoked
    }
}
