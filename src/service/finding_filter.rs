//! The one finding filter, shared by GraphQL `findings(filter:)`, `slaSummary` and the REST `/api/v2/findings/`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition};

use crate::domain::finding_index::{IndexQuery, OpenStates, Scope};
use crate::domain::{ProductId, Severity, SlaState};
use crate::entity::{finding, product};
use crate::error::{ServiceError, ServiceResult};

/// What a client may filter findings by. Every field narrows; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub product_id: Option<ProductId>,
    pub product_name: Option<String>,
    pub severities: Option<Vec<Severity>>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub is_mitigated: Option<bool>,
    /// Open and at or past the deadline (DefectDojo's `outside_of_sla`).
    pub outside_sla: Option<bool>,
    pub sla_states: Option<Vec<SlaState>>,
    pub deadline_before: Option<DateTime<Utc>>,
    pub deadline_after: Option<DateTime<Utc>>,
    /// Case-insensitive text in the title, description or external reference.
    pub search: Option<String>,
}

/// The longest text search, in characters: longer texts name no more findings, and a hostile one would
/// only cost time.
pub const MAX_SEARCH_CHARS: usize = 200;

impl FindingFilter {
    /// Refuses a filter no finding read should run: a text search over `MAX_SEARCH_CHARS`, or with a NUL
    /// (no text holds one; SQLite's `LIKE` would end the pattern there and match everything, PostgreSQL refuses
    /// it as text).
    pub fn check(&self) -> ServiceResult<()> {
        match self.search_text() {
            Some(text) if text.chars().count() > MAX_SEARCH_CHARS => Err(ServiceError::bad_input(format!(
                "search: at most {MAX_SEARCH_CHARS} characters (got {})",
                text.chars().count()
            ))),
            Some(text) if text.contains('\0') => {
                Err(ServiceError::bad_input("search: must not contain NUL characters".to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// The SQL condition at instant `now`.
    #[must_use]
    pub fn condition(&self, now: DateTime<Utc>) -> Condition {
        let now = now.timestamp();
        let mut all = Condition::all();
        if let Some(id) = self.product_id {
            all = all.add(finding::Column::ProductId.eq(id));
        }
        if let Some(name) = &self.product_name {
            let named = Query::select()
                .column(product::Column::Id)
                .from(product::Entity)
                .and_where(Expr::col(product::Column::Name).eq(name.as_str()))
                .to_owned();
            all = all.add(finding::Column::ProductId.in_subquery(named));
        }
        if let Some(severities) = &self.severities {
            all = all.add(finding::Column::Severity.is_in(severities.iter().map(|s| s.as_str())));
        }
        // `outsideSla: true` means open, and open means active and not mitigated (`FindingStatus::is_open`):
        // the runbook's `outside_sla=true&active=true` then stays on the (is_open, sla_deadline) index.
        let open_only = self.outside_sla == Some(true);
        if let Some(flag) = self.active.filter(|&active| !(open_only && active)) {
            all = all.add(finding::Column::Active.eq(flag));
        }
        if let Some(flag) = self.verified {
            all = all.add(finding::Column::Verified.eq(flag));
        }
        if let Some(flag) = self.is_mitigated.filter(|&mitigated| !open_only || mitigated) {
            all = all.add(finding::Column::IsMitigated.eq(flag));
        }
        if let Some(flag) = self.outside_sla {
            let outside =
                Condition::all().add(finding::Column::IsOpen.eq(true)).add(finding::Column::SlaDeadline.lte(now));
            all = all.add(if flag { outside } else { outside.not() });
        }
        if let Some(states) = &self.sla_states {
            all = all.add(states.iter().fold(Condition::any(), |any, &state| any.add(state_condition(state, now))));
        }
        if let Some(before) = self.deadline_before {
            all = all.add(finding::Column::SlaDeadline.lt(before.timestamp()));
        }
        if let Some(after) = self.deadline_after {
            all = all.add(finding::Column::SlaDeadline.gt(after.timestamp()));
        }
        if let Some(text) = self.search_condition() {
            all = all.add(text);
        }
        all
    }

    /// The text search alone as SQL (`None`: no search): the text, case-insensitive, in the title, description
    /// or external reference.
    #[must_use]
    pub fn search_condition(&self) -> Option<Condition> {
        let text = self.search_text()?;
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |column: finding::Column| -> SimpleExpr {
            Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        Some(SEARCHED_COLUMNS.into_iter().fold(Condition::any(), |any, column| any.add(like(column))))
    }
}

/// The columns a text search looks in (each `lower(column) LIKE '%text%'`; a trigram index per column on
/// PostgreSQL, one over all three on SQLite).
pub const SEARCHED_COLUMNS: [finding::Column; 3] =
    [finding::Column::Title, finding::Column::Description, finding::Column::ExternalReference];

impl FindingFilter {
    /// The same filter as a question to the in-memory finding index, restricted to `visible` products (`None`:
    /// all), when the index can answer it: about open findings only (`outsideSla: true` or open SLA states),
    /// without a text search or a product name, or about every finding of some products (no other field set).
    /// `None`: ask SQL.
    #[must_use]
    pub fn index_query(&self, visible: Option<&[ProductId]>) -> Option<IndexQuery> {
        if !self.index_may_answer() {
            return None;
        }
        let outside = self.outside_sla == Some(true);
        let named = |state: SlaState| self.sla_states.as_ref().is_none_or(|states| states.contains(&state));
        if let Some(states) = &self.sla_states
            && states.iter().any(|state| matches!(state, SlaState::None | SlaState::Met | SlaState::Missed))
        {
            return None;
        }
        let products = looked_at(self.product_id, visible);
        if !outside && self.sla_states.is_none() {
            // Destructured whole, so a new field of the filter cannot be forgotten here.
            let FindingFilter {
                product_id: _,
                product_name: _,
                search: _,
                outside_sla: _,
                sla_states: _,
                severities,
                active,
                verified,
                is_mitigated,
                deadline_before,
                deadline_after,
            } = self;
            let narrowed = severities.is_some()
                || active.is_some()
                || verified.is_some()
                || is_mitigated.is_some()
                || deadline_before.is_some()
                || deadline_after.is_some();
            if narrowed {
                return None;
            }
            let everything = IndexQuery {
                scope: Scope::All,
                products,
                severities: None,
                verified: None,
                deadline_before: None,
                deadline_after: None,
            };
            return Some(everything);
        }
        // Open implies active and not mitigated: asking for the opposite admits nothing.
        let possible = self.active != Some(false) && self.is_mitigated != Some(true);
        let states = OpenStates {
            breached: possible && named(SlaState::Breached),
            approaching: possible && !outside && named(SlaState::Approaching),
            on_track: possible && !outside && named(SlaState::OnTrack),
        };
        Some(IndexQuery {
            scope: Scope::Open(states),
            products,
            severities: self.severities.clone(),
            verified: self.verified,
            deadline_before: self.deadline_before.map(|at| at.timestamp()),
            deadline_after: self.deadline_after.map(|at| at.timestamp()),
        })
    }
}

impl FindingFilter {
    /// Whether `index_query` may answer at all, whoever asks: no text search, product name or `outsideSla:
    /// false` (SQL answers those). Cheap: callers check it before reading who may view what.
    #[must_use]
    pub fn index_may_answer(&self) -> bool {
        self.search_text().is_none() && self.product_name.is_none() && self.outside_sla != Some(false)
    }

    /// The text searched for, trimmed (`None`: no search, which a blank text is too).
    pub(crate) fn search_text(&self) -> Option<&str> {
        self.search.as_deref().map(str::trim).filter(|text| !text.is_empty())
    }
}

/// The products a read looks at, sorted, each once: the one asked for (if visible), else the `visible` ones (`None`:
/// all).
#[must_use]
pub fn looked_at(product_id: Option<ProductId>, visible: Option<&[ProductId]>) -> Option<Vec<ProductId>> {
    let mut ids = match (product_id, visible) {
        (None, None) => return None,
        (Some(id), None) => vec![id],
        (None, Some(visible)) => visible.to_vec(),
        (Some(id), Some(visible)) => visible.iter().copied().filter(|&v| v == id).take(1).collect(),
    };
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

/// `domain::sla::state` as SQL over the stored columns.
fn state_condition(state: SlaState, now: i64) -> Condition {
    use finding::Column as C;
    let has_deadline = C::SlaDeadline.is_not_null();
    let open_before_deadline = || Condition::all().add(C::IsOpen.eq(true)).add(C::SlaDeadline.gt(now));
    match state {
        SlaState::None => Condition::any()
            .add(C::SlaDeadline.is_null())
            .add(Condition::all().add(C::IsMitigated.eq(false)).add(C::IsOpen.eq(false))),
        SlaState::Met => Condition::all().add(C::IsMitigated.eq(true)).add(has_deadline).add(
            Condition::any()
                .add(C::MitigatedAt.is_null())
                .add(Expr::col(C::MitigatedAt).lte(Expr::col(C::SlaDeadline))),
        ),
        SlaState::Missed => Condition::all()
            .add(C::IsMitigated.eq(true))
            .add(has_deadline)
            .add(Expr::col(C::MitigatedAt).gt(Expr::col(C::SlaDeadline))),
        SlaState::Breached => Condition::all().add(C::IsOpen.eq(true)).add(C::SlaDeadline.lte(now)),
        SlaState::Approaching => open_before_deadline().add(C::SlaApproachingAt.lte(now)),
        SlaState::OnTrack => open_before_deadline()
            .add(Condition::any().add(C::SlaApproachingAt.is_null()).add(C::SlaApproachingAt.gt(now))),
    }
}

/// The SQL `CASE` that names each finding's SLA state (`SlaState::as_str`), for grouping: `state_condition`'s
/// cases in `domain::sla::state`'s order.
#[must_use]
pub fn state_case_sql(now: DateTime<Utc>) -> String {
    let now = now.timestamp();
    let name = |state: SlaState| state.as_str();
    format!(
        "CASE WHEN sla_deadline IS NULL THEN '{none}' \
         WHEN is_mitigated THEN (CASE WHEN mitigated_at > sla_deadline THEN '{missed}' ELSE '{met}' END) \
         WHEN NOT is_open THEN '{none}' \
         WHEN {breached} THEN '{breached_name}' \
         WHEN sla_approaching_at IS NOT NULL AND sla_approaching_at <= {now} THEN '{approaching}' \
         ELSE '{on_track}' END",
        none = name(SlaState::None),
        missed = name(SlaState::Missed),
        met = name(SlaState::Met),
        breached = past_deadline_sql(now),
        breached_name = name(SlaState::Breached),
        approaching = name(SlaState::Approaching),
        on_track = name(SlaState::OnTrack),
    )
}

/// An open finding at or past its deadline (`outsideSla`, the `Breached` state) as SQL over an open row.
#[must_use]
pub fn past_deadline_sql(now: i64) -> String {
    format!("sla_deadline <= {now}")
}

/// `text` for a `LIKE … ESCAPE '\\'` pattern: its own `%`, `_` and `\\` match only themselves.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_sla_leaves_out_the_flags_it_implies() {
        use sea_orm::{EntityTrait, QueryFilter, QueryTrait};
        let sql = |filter: FindingFilter| {
            crate::entity::finding::Entity::find()
                .filter(filter.condition(DateTime::from_timestamp(1_000, 0).unwrap_or_default()))
                .build(sea_orm::DbBackend::Sqlite)
                .to_string()
        };
        let runbook = FindingFilter {
            outside_sla: Some(true),
            active: Some(true),
            is_mitigated: Some(false),
            ..FindingFilter::default()
        };
        assert_eq!(sql(runbook), sql(FindingFilter { outside_sla: Some(true), ..FindingFilter::default() }));
        let contradiction = FindingFilter { outside_sla: Some(true), active: Some(false), ..FindingFilter::default() };
        assert!(sql(contradiction).contains("\"active\" = FALSE"), "a contradiction is kept and matches nothing");
        let not_outside = FindingFilter { outside_sla: Some(false), active: Some(true), ..FindingFilter::default() };
        assert!(sql(not_outside).contains("\"active\" = TRUE"));
    }

    #[test]
    fn like_wildcards_in_search_text_are_literal() {
        assert_eq!(escape_like("100%_done\\"), "100\\%\\_done\\\\");
    }
}
