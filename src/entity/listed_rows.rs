//! The `finding::Listed` columns of findings chosen by id (pages, REST slices, live events). On SQLite they are
//! read as one row holding a JSON array of them: a read row by row cost a hand-off between SQLite's thread and
//! the request's task per row, a copy and an allocation per value, and a column looked up by name per value (a
//! fifth of a varied page's server time); here SQLite writes the rows as JSON in one value and serde reads it
//! into `Listed`s. PostgreSQL reads them as rows (`id IN (…)`).

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SqliteQueryBuilder};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, QueryFilter, QueryOrder,
    Statement,
};
use serde::{Deserialize, Deserializer};

use super::finding::{self, Column};
use crate::domain::{EngagementId, FindingId, ProductId, Severity};

/// `Listed`'s columns in the order of `ListedJson`'s fields, which is the order of each row's JSON array.
const COLUMNS: [Column; 26] = [
    Column::Id,
    Column::ProductId,
    Column::EngagementId,
    Column::Title,
    Column::Description,
    Column::Severity,
    Column::Date,
    Column::SlaStart,
    Column::SlaStartIsDate,
    Column::Active,
    Column::Verified,
    Column::IsMitigated,
    Column::MitigatedAt,
    Column::FalseP,
    Column::Duplicate,
    Column::OutOfScope,
    Column::RiskAccepted,
    Column::RiskAcceptanceExpiresAt,
    Column::IsOpen,
    Column::ExternalReference,
    Column::SlaDeadline,
    Column::SlaExpirationDay,
    Column::SlaApproachingAt,
    Column::SlaCycle,
    Column::CreatedAt,
    Column::UpdatedAt,
];

/// One row as SQLite writes it: a JSON array of `COLUMNS`, read by position into a `finding::Listed` (serde reads
/// a struct from an array field by field; `remote`: this declares how, the type read is `Listed`). Flags are
/// SQLite's integers 0 and 1, the date its text, as the columns hold them.
#[derive(Deserialize)]
#[serde(remote = "finding::Listed")]
struct ListedJson {
    id: FindingId,
    product_id: ProductId,
    engagement_id: Option<EngagementId>,
    title: String,
    description: String,
    severity: Severity,
    #[serde(deserialize_with = "stored_date")]
    date: NaiveDate,
    sla_start: i64,
    #[serde(deserialize_with = "stored_flag")]
    sla_start_is_date: bool,
    #[serde(deserialize_with = "stored_flag")]
    active: bool,
    #[serde(deserialize_with = "stored_flag")]
    verified: bool,
    #[serde(deserialize_with = "stored_flag")]
    is_mitigated: bool,
    mitigated_at: Option<i64>,
    #[serde(deserialize_with = "stored_flag")]
    false_p: bool,
    #[serde(deserialize_with = "stored_flag")]
    duplicate: bool,
    #[serde(deserialize_with = "stored_flag")]
    out_of_scope: bool,
    #[serde(deserialize_with = "stored_flag")]
    risk_accepted: bool,
    risk_acceptance_expires_at: Option<i64>,
    #[serde(deserialize_with = "stored_flag")]
    is_open: bool,
    external_reference: Option<String>,
    sla_deadline: Option<i64>,
    sla_expiration_day: Option<i64>,
    sla_approaching_at: Option<i64>,
    sla_cycle: i32,
    created_at: i64,
    updated_at: i64,
}

/// A flag as SQLite stores a boolean (sqlx reads any integer but 0 as true).
fn stored_flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    i64::deserialize(deserializer).map(|flag| flag != 0)
}

/// A date as sqlx stores it in SQLite (`%F`, which is also how sqlx reads it back).
fn stored_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    let text = <Cow<'de, str>>::deserialize(deserializer)?;
    NaiveDate::parse_from_str(&text, "%F").map_err(serde::de::Error::custom)
}

/// One row of the JSON array, read into a `Listed` as `ListedJson` says.
#[derive(Deserialize)]
struct Row(#[serde(with = "ListedJson")] finding::Listed);

/// The `Listed` rows of the findings with `ids` that meet `condition`, in id order, each once.
pub async fn listed_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: &[FindingId],
    condition: Condition,
) -> Result<Vec<finding::Listed>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if conn.get_database_backend() != DbBackend::Sqlite {
        return finding::Entity::find()
            .filter(Column::Id.is_in(ids.iter().copied()))
            .filter(condition)
            .order_by_asc(Column::Id)
            .into_partial_model()
            .all(conn)
            .await;
    }
    let row = conn.query_one_raw(statement(ids, condition)?).await?;
    let Some(row) = row else { return Ok(Vec::new()) };
    let rows: String = row.try_get_by_index(0)?;
    let read: Vec<Row> = serde_json::from_str(&rows)
        .map_err(|err| DbErr::Type(format!("a finding row SQLite wrote as JSON does not read back: {err}")))?;
    let mut listed: Vec<finding::Listed> = read.into_iter().map(|row| row.0).collect();
    // An aggregate's order is SQLite's to choose; the page is in id order, each finding once (`id IN (…)`
    // named each once however often it was listed).
    listed.sort_unstable_by_key(|row| row.id);
    listed.dedup_by_key(|row| row.id);
    Ok(listed)
}

/// `json_group_array(json_array(<COLUMNS>))`, written once.
static ROWS_AS_JSON: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<String> = COLUMNS.iter().map(|column| format!(r#""findings"."{}""#, column.as_str())).collect();
    format!("json_group_array(json_array({}))", columns.join(", "))
});

/// `SELECT json_group_array(json_array(<COLUMNS>)) FROM json_each(<ids>) AS listed CROSS JOIN findings
/// WHERE findings.id = listed.value AND <condition>`: the ids are one JSON array, so the statement is the same
/// for any number of them and stays prepared; SQLite walks them and looks each up by its key (no temporary
/// b-tree, as `id IN (…)` builds), the `CROSS JOIN` keeping that order of the two.
fn statement(ids: &[FindingId], condition: Condition) -> Result<Statement, DbErr> {
    let listed = serde_json::to_string(ids).map_err(|err| DbErr::Custom(format!("finding ids as JSON: {err}")))?;
    let (sql, values) = Query::select()
        .expr(Expr::cust(ROWS_AS_JSON.as_str()))
        .from_function(Func::cust("json_each").arg(listed), Alias::new("listed"))
        .cross_join(finding::Entity)
        .and_where(Expr::col((finding::Entity, Column::Id)).equals((Alias::new("listed"), Alias::new("value"))))
        .cond_where(condition)
        .build(SqliteQueryBuilder);
    Ok(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
}

#[cfg(test)]
mod tests {
    use sea_orm::IntoActiveModel;

    use super::*;
    use crate::entity::finding::Model;

    /// Texts that JSON must escape or that are not ASCII.
    const TEXTS: [&str; 6] =
        ["plain", "a \"quoted\" \\ back\\slash", "tab\tnew\nline", "Zürich – 東京 🙂", "", "\u{1}\u{1f}"];

    /// A linear congruential generator: the same rows every run.
    struct Draws(u64);

    impl Draws {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }

        fn small(&mut self, n: u64) -> i32 {
            i32::try_from(self.below(n)).expect("small")
        }

        fn flag(&mut self) -> bool {
            self.below(2) == 1
        }

        /// `value` two times in three, else NULL.
        fn maybe(&mut self, value: i64) -> Option<i64> {
            (self.below(3) > 0).then_some(value)
        }

        fn text(&mut self) -> String {
            TEXTS[usize::try_from(self.below(TEXTS.len() as u64)).expect("small")].to_owned()
        }
    }

    /// A finding whose every column is drawn, NULLs and flags included.
    fn drawn(id: i32, draw: &mut Draws) -> Model {
        Model {
            id: FindingId::new(id),
            product_id: ProductId::new(1),
            engagement_id: None,
            title: format!("{} {id}", draw.text()),
            description: draw.text(),
            severity: Severity::ALL[usize::try_from(draw.below(5)).expect("small")],
            date: NaiveDate::from_ymd_opt(2020 + draw.small(8), 1 + draw.small(12).unsigned_abs(), 28).expect("a date"),
            sla_start: 1_700_000_000 + i64::from(draw.small(1_000_000)),
            sla_start_is_date: draw.flag(),
            active: draw.flag(),
            verified: draw.flag(),
            is_mitigated: draw.flag(),
            mitigated_at: draw.maybe(-5),
            false_p: draw.flag(),
            duplicate: draw.flag(),
            out_of_scope: draw.flag(),
            risk_accepted: draw.flag(),
            risk_acceptance_expires_at: draw.maybe(1_800_000_000),
            is_open: draw.flag(),
            external_reference: draw.flag().then(|| draw.text()),
            sla_deadline: draw.maybe(i64::MAX),
            sla_expiration_day: draw.maybe(20_000),
            sla_approaching_at: draw.maybe(i64::MIN),
            sla_cycle: draw.small(4) - 1,
            next_sla_event_at: None,
            created_at: 1_600_000_000 + i64::from(draw.small(1_000)),
            updated_at: 1_650_000_000 + i64::from(draw.small(1_000)),
            test_id: None,
            hash_code: None,
            unique_id_from_tool: None,
            cwe: None,
            vulnerability_ids: None,
            component_name: None,
            component_version: None,
            file_path: None,
            line: None,
            mitigation: None,
            references: None,
            endpoints: None,
            source_id: None,
            external_id: None,
        }
    }

    #[tokio::test]
    async fn rows_read_as_json_equal_the_rows_sea_orm_reads_column_by_column() {
        let dir = tempfile::tempdir().expect("a directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("listed.db").display());
        let memory = crate::config::SqliteMemory::default();
        let timeout = std::time::Duration::from_secs(5);
        let db = crate::db::connect_writer(&url, timeout, memory).await.expect("one connection").expect("a file");
        crate::db::migrate(&db).await.expect("migrated");
        db.execute_unprepared(
            "INSERT INTO product_types (id, name, description, created_at) VALUES (1, 'type', '', 0); \
             INSERT INTO products (id, name, description, product_type_id, sla_configuration_id, \
             disable_sla_breach_notifications, created_at) VALUES (1, 'product', '', 1, 1, 0, 0)",
        )
        .await
        .expect("a product");
        let mut draw = Draws(0x5EED);
        for id in 1..=300 {
            finding::Entity::insert(drawn(id, &mut draw).into_active_model()).exec(&db).await.expect("inserted");
        }
        let by_sea_orm = |ids: Vec<FindingId>, condition: Condition| {
            finding::Entity::find()
                .filter(Column::Id.is_in(ids))
                .filter(condition)
                .order_by_asc(Column::Id)
                .into_partial_model::<finding::Listed>()
                .all(&db)
        };
        for round in 0..50 {
            // Ids in any order, some twice, some of no finding.
            let ids: Vec<FindingId> = (0..draw.below(120)).map(|_| FindingId::new(draw.small(330))).collect();
            let condition = if round % 3 == 0 {
                Condition::all().add(Expr::col(Column::Title).like("%\"quoted\"%"))
            } else {
                Condition::all()
            };
            let expected = by_sea_orm(ids.clone(), condition.clone()).await.expect("read by sea-orm");
            let read = listed_by_id(&db, &ids, condition).await.expect("read as JSON");
            assert_eq!(read, expected, "round {round}, ids {ids:?}");
        }
        let every: Vec<FindingId> = (1..=300).map(FindingId::new).collect();
        assert_eq!(listed_by_id(&db, &every, Condition::all()).await.expect("all").len(), 300);
        assert!(listed_by_id(&db, &[], Condition::all()).await.expect("none").is_empty());
        drop(db);
    }
}
