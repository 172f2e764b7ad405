//! The notification rule for findings that arrive with a past (a scan import, a DefectDojo sync): the SLA
//! events their history already passed are recorded as done without a notification, so the sweep announces
//! at most each one's present state (`domain::sla_events::quieted_history`), not every threshold it crossed
//! before slawatch knew of it.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use crate::domain::sla_events;
use crate::domain::{FindingId, SlaPolicy};
use crate::entity::sla_event;
use crate::error::ServiceResult;
use crate::service::{finding_sla, sla_sweep};

/// Rows written per statement.
const ROWS_AT_ONCE: usize = 200;

/// An open finding that just arrived: its id, SLA cycle and stored schedule.
pub(crate) struct Arrived {
    pub id: FindingId,
    pub cycle: i32,
    pub schedule: finding_sla::StoredSchedule,
}

/// Marks the passed SLA events of `arrived` (each under `policy`) as done without a notification; a breach
/// older than `post_breach` is marked too, so it announces nothing.
pub(crate) async fn quiet<C: sea_orm::ConnectionTrait>(
    conn: &C,
    arrived: impl IntoIterator<Item = Arrived>,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
    post_breach: chrono::TimeDelta,
) -> ServiceResult<()> {
    let mut quiet = Vec::new();
    for finding in arrived {
        let Some(schedule) = finding.schedule.read() else { continue };
        let events = sla_events::cycle_events(&schedule, policy.thresholds.as_slice(), policy.escalation.get());
        let passed = sla_events::quieted_history(&events, now, post_breach);
        quiet.extend(passed.iter().map(|event| sla_sweep::event_row(finding.id, finding.cycle, event, None, now)));
    }
    let mut quiet = quiet.into_iter().peekable();
    while quiet.peek().is_some() {
        let chunk: Vec<_> = quiet.by_ref().take(ROWS_AT_ONCE).collect();
        sla_event::Entity::insert_many(chunk).exec_without_returning(conn).await?;
    }
    Ok(())
}
