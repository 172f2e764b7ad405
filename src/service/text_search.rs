//! Text search over findings: a trigram index names the findings that hold the search's rarest
//! three-character pieces, and the filter's `LIKE` decides among them, so a search answers what a `LIKE` over
//! every finding answers while reading only those findings. On SQLite the index is the FTS5 table
//! `finding_text` (migration 21); on PostgreSQL it is `pg_trgm`'s GIN indexes on the lowered columns
//! (migration 23), asked with a `LIKE '%piece%'` per piece — the search's own `LIKE` would make them walk
//! the lists of its common trigrams too ("component" is in every finding): 50 ms instead of 1 at a million.
//! Which pieces are rare comes from a sample of findings taken at most every ten minutes
//! (`kept::piece_sample`).

use std::sync::Arc;

use sea_orm::IdenStatic;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    QueryTrait, Statement,
};

use crate::domain::FindingId;
use crate::domain::finding_index::Scope;
use crate::domain::trigrams::{IndexQuestion, PieceSample, TrigramIndex};
use crate::entity::finding;
use crate::error::{ServiceError, ServiceResult};
use crate::kept::piece_sample::Sampled;
use crate::service::finding_filter::{FindingFilter, SEARCHED_COLUMNS};
use crate::service::finding_reads;
use crate::state::AppState;

/// How many stretches of consecutive findings the sample reads, spread evenly over the ids.
const STRETCHES: i64 = 50;

/// How many findings each stretch reads.
const STRETCH_FINDINGS: i64 = 40;

/// Below this many expected findings a narrowed search reads without waiting for a scan turn: it reads at
/// most about that many rows by id (4 µs each at a million findings, so ~20 ms). With 20,000 the searches of
/// 10,000 findings ran all at once, took both cores and starved the writers (BENCHMARKS "Text search").
pub(crate) const TURNLESS_FINDINGS: u64 = 5_000;

/// A text search narrowed by the trigram index: worked out once per read, and told what the index's answer
/// turned out to be when it was read (`candidates`).
pub struct Narrowed {
    asked: Asked,
    /// At most `TURNLESS_FINDINGS` findings are expected (by the sample), or were named (by the index).
    pub few: bool,
}

/// What the trigram index is asked.
pub enum Asked {
    /// SQLite: one question about a finding's three texts, which FTS5 holds as one row.
    Fts5(IndexQuestion),
    /// PostgreSQL: a question per searched column (`finding_filter::SEARCHED_COLUMNS`, in that order), each
    /// to that column's GIN index, about the pieces rare in that column: "component-123"'s `123` is in 1,000
    /// titles and 8,000 descriptions and references (finding numbers), its `pon` in no description, so each
    /// column is asked what narrows it.
    PgTrgm([IndexQuestion; 3]),
}

impl Asked {
    fn expected_findings(&self) -> u64 {
        match self {
            Self::Fts5(question) => question.expected_findings,
            Self::PgTrgm(questions) => questions.iter().map(|question| question.expected_findings).sum(),
        }
    }
}

impl Narrowed {
    /// A search narrowed by `asked`.
    #[must_use]
    pub fn new(asked: Asked) -> Self {
        let few = asked.expected_findings() <= TURNLESS_FINDINGS;
        Self { asked, few }
    }

    /// The statement `candidates` runs: the count and the ids (joined by commas, at most `limit`) of the
    /// findings in `scope` the index names; on PostgreSQL those that hold the search text as well. A question
    /// about open findings asks the index of the open findings alone (six to seven times fewer candidates at a
    /// million findings): SQLite's `open_finding_text` (migration 25), PostgreSQL's partial GIN indexes
    /// (migration 26), which its planner takes when the statement says `is_open = TRUE` in its own text.
    #[must_use]
    pub fn candidates_statement(&self, filter: &FindingFilter, scope: Scope, limit: usize) -> Statement {
        match &self.asked {
            Asked::Fts5(question) => {
                let table = match scope {
                    Scope::All => "finding_text",
                    Scope::Open(_) => "open_finding_text",
                };
                Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    format!(
                        "SELECT count(*) AS found, group_concat(id) AS ids FROM (SELECT rowid AS id FROM {table} \
                         WHERE {table} MATCH ? ORDER BY rowid LIMIT {limit})"
                    ),
                    [question.fts5_match_expression().into()],
                )
            }
            Asked::PgTrgm(_) => {
                let text = filter.search_condition().unwrap_or_else(Condition::all);
                let open = match scope {
                    Scope::All => Condition::all(),
                    // Written, not bound: a generic plan (a statement run a sixth time) cannot prove a bound
                    // value implies the partial indexes' `WHERE is_open`.
                    Scope::Open(_) => Condition::all()
                        .add(ExprTrait::eq(Expr::col((finding::Entity, finding::Column::IsOpen)), Expr::cust("TRUE"))),
                };
                let named = finding::Entity::find()
                    .select_only()
                    .column(finding::Column::Id)
                    .filter(self.condition())
                    .filter(open)
                    .filter(tested_on_each(DbBackend::Postgres, text))
                    .order_by_asc(finding::Column::Id)
                    .limit(limit as u64)
                    .build(DbBackend::Postgres);
                Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!(
                        "SELECT count(*) AS found, string_agg(named.id::text, ',') AS ids FROM ({}) AS named",
                        named.sql
                    ),
                    named.values.map(|values| values.0).unwrap_or_default(),
                )
            }
        }
    }

    /// The findings the index names (every one that holds the search text, and perhaps some that do not).
    pub(crate) fn condition(&self) -> SimpleExpr {
        match &self.asked {
            Asked::Fts5(question) => {
                let named = Query::select()
                    .expr(Expr::cust("rowid"))
                    .from(Alias::new("finding_text"))
                    .and_where(Expr::cust_with_values("finding_text MATCH ?", [question.fts5_match_expression()]))
                    .to_owned();
                finding::Column::Id.in_subquery(named)
            }
            // Per column, a `LIKE` per piece: on one column they are one GIN scan of the pieces' lists. Written
            // into the statement, not bound: with a bound pattern PostgreSQL soon plans the statement once for
            // any pattern, and that plan walks every finding in id order (2.5 s a search at a million). A piece
            // is three letters or digits, or two at a word's edge beside a space or punctuation that means
            // nothing to `LIKE` or in quotes (`TrigramIndex::can_be_asked`; any other is left out), so nothing
            // in it needs quoting or escaping, and the plans are as many as the pieces.
            Asked::PgTrgm(questions) => {
                let holding_pieces = |column: &finding::Column, question: &IndexQuestion| {
                    question
                        .pieces
                        .iter()
                        .filter(|piece| TrigramIndex::PgTrgm.can_be_asked(piece))
                        .fold(Condition::all(), |all, piece| {
                            all.add(Expr::cust(format!("LOWER(\"{}\") LIKE '%{piece}%'", column.as_str())))
                        })
                };
                SEARCHED_COLUMNS
                    .iter()
                    .zip(questions)
                    .fold(Condition::any(), |any, (column, question)| any.add(holding_pieces(column, question)))
                    .into()
            }
        }
    }
}

/// The findings the trigram index named for a search, in id order.
pub(crate) struct Candidates {
    pub ids: Vec<FindingId>,
    /// Whether each holds the search text, or their text is still to be tested.
    pub text: CandidateText,
    /// The scan turn taken to read many of them (`TURNLESS_CANDIDATES`), held with them so that checking their
    /// text (`finding_reads::searched`) does not queue for a second one.
    pub turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Whether the trigram index's candidates are known to hold the search text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CandidateText {
    /// Each holds it: on PostgreSQL the statement that asks the index tests the text as well (the rows are
    /// read anyway).
    Tested,
    /// Some may not: SQLite's index names rowids, whose text `holding_text` tests.
    Untested,
}

/// `filter`'s text search narrowed by the trigram index, or `None` where the index cannot help (`asked`).
pub(crate) async fn narrowing(state: &AppState, filter: &FindingFilter) -> ServiceResult<Option<Narrowed>> {
    Ok(asked(state, filter).await?.map(Narrowed::new))
}

/// What to ask the trigram index for `filter`'s search (`None`: no search, no trigram index on this database,
/// no piece the index can be asked about, or pieces too common — on PostgreSQL in any one column).
async fn asked(state: &AppState, filter: &FindingFilter) -> ServiceResult<Option<Asked>> {
    let (Some(text), Some(index)) = (filter.search_text(), state.trigram_index) else {
        return Ok(None);
    };
    let text = text.to_lowercase();
    let sample = sample(state).await?;
    let total = sample.findings;
    Ok(match index {
        TrigramIndex::PgTrgm => {
            let [title, description, reference] =
                sample.columns.each_ref().map(|column| column.narrowing(&text, total, index));
            title
                .zip(description)
                .zip(reference)
                .map(|((title, description), reference)| Asked::PgTrgm([title, description, reference]))
        }
        TrigramIndex::Fts5 => sample.pieces.narrowing(&text, total, index).map(Asked::Fts5),
    })
}

/// At most this many candidates are read from the trigram index for the finding index to narrow (~0.25 µs and
/// 4 bytes an id; 111,000 took 28 ms); a search whose pieces name more is answered by SQL instead, which reads
/// every finding the pieces name (`Narrowed::condition`) and took 100–200 ms for those 111,000.
const MOST_CANDIDATES: usize = 200_000;

/// A search expected to name more candidates than this reads them in a scan turn (`finding_reads::scan_turn`),
/// as reading their text does: both take tens of milliseconds.
const TURNLESS_CANDIDATES: u64 = 50_000;

/// How many candidates one statement checks the text of (5,000 take ~5 ms of SQLite; more wait for a scan turn
/// in `finding_reads::searched`, so a statement holds its connection about that long).
const CHECKED_AT_ONCE: usize = 5_000;

/// The findings the trigram index names for a narrowed search, in id order (`None`: more than
/// `MOST_CANDIDATES`, expected or found; a search the sample misjudged is then no longer `few`, so the SQL
/// read that answers it instead waits for a scan turn). On SQLite some may not hold the text: `holding_text` says
/// (`CandidateText::Untested`).
pub(crate) async fn candidates(
    state: &AppState,
    filter: &FindingFilter,
    narrowed: &mut Narrowed,
    scope: Scope,
) -> ServiceResult<Option<Candidates>> {
    let expected = narrowed.asked.expected_findings();
    if expected > MOST_CANDIDATES as u64 {
        return Ok(None);
    }
    let turn = if expected > TURNLESS_CANDIDATES { Some(finding_reads::scan_turn(state).await?) } else { None };
    let limit = MOST_CANDIDATES + 1;
    // One row with the ids joined, not a row an id: sqlx hands each row from its SQLite thread to the
    // request's task, and for thousands of ids under load those hand-overs (and the thread switches they
    // wake) cost more than the index's answer itself (BENCHMARKS.md, "Text search: the candidates in one row").
    let statement = narrowed.candidates_statement(filter, scope, limit);
    let row = state.db.query_one_raw(statement).await?;
    let found = match &row {
        Some(row) => row.try_get::<i64>("", "found")?,
        None => 0,
    };
    if usize::try_from(found).map_or(true, |found| found > MOST_CANDIDATES) {
        narrowed.few = false;
        return Ok(None);
    }
    let ids = ids_of(row.as_ref())?;
    let text = match narrowed.asked {
        Asked::PgTrgm(_) => CandidateText::Tested,
        Asked::Fts5(_) => CandidateText::Untested,
    };
    Ok(Some(Candidates { ids, text, turn }))
}

/// The ids a statement returned joined in its one row's `ids` column (none without a row or without ids).
fn ids_of(row: Option<&QueryResult>) -> ServiceResult<Vec<FindingId>> {
    let joined = match row {
        Some(row) => row.try_get::<Option<String>>("", "ids")?,
        None => None,
    };
    joined_ids(joined.as_deref().unwrap_or_default()).map_err(ServiceError::internal)
}

/// The ids of `group_concat` ("3,1,2"; "" for none), ascending: the aggregate keeps its subquery's order in
/// SQLite as it is, but does not promise to.
fn joined_ids(joined: &str) -> Result<Vec<FindingId>, std::num::ParseIntError> {
    let mut ids = joined.split(',').filter(|id| !id.is_empty()).map(str::parse).collect::<Result<Vec<i32>, _>>()?;
    ids.sort_unstable();
    Ok(ids.into_iter().map(FindingId::new).collect())
}

/// Of `candidates` (ascending), those whose text holds `filter`'s search: the filter's own `LIKE`
/// (`FindingFilter::search_condition`), asked of the findings by id, `CHECKED_AT_ONCE` at a time. Only SQLite's
/// candidates need it (`CandidateText::Untested`).
pub(crate) async fn holding_text(
    state: &AppState,
    filter: &FindingFilter,
    candidates: &[FindingId],
) -> ServiceResult<Vec<FindingId>> {
    let text = filter.search_condition().unwrap_or_else(Condition::all);
    let mut holding = Vec::new();
    for chunk in candidates.chunks(CHECKED_AT_ONCE) {
        let row = state.db.query_one_raw(holding_text_statement(text.clone(), chunk)?).await?;
        holding.extend(ids_of(row.as_ref())?);
    }
    Ok(holding)
}

/// The statement `holding_text` runs for `ids`: the ids are one JSON array, so the statement's text is the
/// same for any number of them and stays prepared, where `id IN (?, ?, …)` was parsed again for each count
/// (a tenth of the server's time in a profile of searches); and the ids that hold the text come back joined in
/// one row, not a row each (as `candidates` reads them).
fn holding_text_statement(text: Condition, ids: &[FindingId]) -> ServiceResult<Statement> {
    let listed = serde_json::to_string(ids).map_err(ServiceError::internal)?;
    let checked = finding::Entity::find()
        .select_only()
        .column(finding::Column::Id)
        .filter(Expr::cust_with_values(r#""findings"."id" IN (SELECT value FROM json_each(?))"#, [listed]))
        .filter(text)
        .build(DbBackend::Sqlite);
    Ok(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!("SELECT group_concat(id) AS ids FROM ({}) AS checked", checked.sql),
        checked.values.map(|values| values.0).unwrap_or_default(),
    ))
}

/// `condition`, tested on each finding the index named rather than used to choose which findings to read:
/// without statistics SQLite takes any indexed column's condition (open, deadline, product) for the narrower
/// one, walks that index and tests each entry against the trigram index's answer — 20–30 ms where reading
/// the named findings by id takes 1–3 ms (1,000,000 findings; BENCHMARKS "Text search"). SQLite's unary `+`
/// keeps a term from driving an index and changes nothing else; on PostgreSQL `IS TRUE` does (a `WHERE`
/// keeps only true rows either way), so the search's own `LIKE` is not added to the GIN scan of the pieces.
pub(crate) fn tested_on_each(backend: DbBackend, condition: Condition) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_expr("($1) IS TRUE", Expr::from(condition)),
        _ => Expr::cust_with_expr("+(?)", Expr::from(condition)),
    }
}

/// The kept sample, and a new one taken when it is older than `kept::piece_sample::MAX_AGE_SECONDS`: by one
/// search at a time, in the background while the old one serves (the first is waited for).
async fn sample(state: &AppState) -> ServiceResult<Arc<Sampled>> {
    let now = state.clock.now().timestamp();
    let found = state.piece_sample.find(now);
    match (found.sample, found.renewal) {
        (Some(sample), None) => Ok(sample),
        (Some(sample), Some(renewal)) => {
            let db = state.db.clone();
            tokio::spawn(async move {
                match take_sample(&db).await {
                    Ok(taken) => renewal.keep(now, Arc::new(taken)),
                    Err(err) => tracing::warn!(error = %err.detail(), "could not sample the findings' text pieces"),
                }
            });
            Ok(sample)
        }
        // The first sample; without the renewal another search is taking it, and this one takes its own.
        (None, renewal) => {
            let sample = Arc::new(take_sample(&state.db).await?);
            if let Some(renewal) = renewal {
                renewal.keep(now, Arc::clone(&sample));
            }
            Ok(sample)
        }
    }
}

/// Reads `STRETCHES` stretches of `STRETCH_FINDINGS` findings spread over the ids, and counts their pieces.
async fn take_sample<C: ConnectionTrait>(db: &C) -> ServiceResult<Sampled> {
    let backend = db.get_database_backend();
    let bounds = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT CAST(MIN(id) AS BIGINT) AS low, CAST(MAX(id) AS BIGINT) AS high FROM findings",
        ))
        .await?;
    let (low, high) = match bounds {
        Some(row) => (row.try_get::<Option<i64>>("", "low")?, row.try_get::<Option<i64>>("", "high")?),
        None => (None, None),
    };
    let (Some(low), Some(high)) = (low, high) else {
        return Ok(Sampled::default());
    };
    let step = std::cmp::max((high - low) / STRETCHES, 1);
    let searched = SEARCHED_COLUMNS.map(|column| column.as_str());
    let stretch = |k: i64| {
        format!(
            "SELECT * FROM (SELECT {} FROM findings WHERE id >= {} ORDER BY id LIMIT {STRETCH_FINDINGS}) AS stretch_{k}",
            searched.join(", "),
            low + k * step
        )
    };
    // The starts are integers of ours, not input: safe to inline.
    let sql = (0..STRETCHES).map(stretch).collect::<Vec<_>>().join(" UNION ALL ");
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    let mut texts = Vec::with_capacity(rows.len());
    for row in rows {
        let mut text = [String::new(), String::new(), String::new()];
        for (column, value) in searched.iter().zip(&mut text) {
            *value = row.try_get::<Option<String>>("", column)?.unwrap_or_default();
        }
        texts.push(text);
    }
    let pieces = PieceSample::from_findings(texts.iter().map(|row| row.iter().map(String::as_str)));
    // In `SEARCHED_COLUMNS`' order, as `Asked::PgTrgm` asks them.
    let columns = [0, 1, 2].map(|column| PieceSample::from_findings(texts.iter().map(|row| [row[column].as_str()])));
    Ok(Sampled { pieces, columns, findings: u64::try_from(high - low + 1).unwrap_or(0) })
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, QueryFilter, QueryTrait};

    use super::*;

    #[test]
    fn the_joined_candidates_are_read_back_in_id_order() {
        assert_eq!(joined_ids(""), Ok(vec![]));
        assert_eq!(joined_ids("7"), Ok(vec![FindingId::new(7)]));
        assert_eq!(joined_ids("12,3,40"), Ok([3, 12, 40].map(FindingId::new).to_vec()));
        assert!(joined_ids("3,x").is_err());
    }

    #[test]
    fn a_condition_tested_on_each_finding_is_wrapped_whole_in_a_unary_plus() {
        let condition = Condition::all()
            .add(finding::Column::IsOpen.eq(true))
            .add(Condition::any().add(finding::Column::ProductId.eq(3)).add(finding::Column::Verified.eq(true)));
        let sql = finding::Entity::find()
            .filter(tested_on_each(DbBackend::Sqlite, condition.clone()))
            .build(sea_orm::DbBackend::Sqlite)
            .to_string();
        assert!(
            sql.ends_with(r#"WHERE +("findings"."is_open" = TRUE AND ("findings"."product_id" = 3 OR "findings"."verified" = TRUE))"#),
            "{sql}"
        );
    }
}
