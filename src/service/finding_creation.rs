//! Creating findings, one or a batch; a batch on SQLite with its rows and `INSERT`s built before the writers'
//! turn (only the look-ups they depend on are read again in it), and the returned rows read into models after.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Iterable, Statement};

use crate::domain::{EngagementId, ProductId, ProductRole, SlaPolicy};
use crate::entity::finding;
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::service::findings::{self, NewFinding, check_engagement, engagement_products};
use crate::service::{Actor, access};
use crate::state::AppState;

/// How many rows one `INSERT` writes (SQLite binds at most 32,766 values; a finding has 31 columns).
const ROWS_AT_ONCE: usize = 500;

/// Creates one finding.
pub async fn create(state: &AppState, actor: &Actor, input: NewFinding) -> ServiceResult<finding::Model> {
    let mut created = create_many(state, actor, vec![input]).await?;
    created.pop().ok_or_else(|| ServiceError::internal("insert returned no row"))
}

/// Creates many findings in one transaction: all or nothing. An error names the index of the bad input.
///
/// Where writers take turns (SQLite: one at a time, and what a batch does in its turn every other write waits
/// for), a batch's rows and statements are built before its turn; in the turn the look-ups the rows depend on
/// are read again, and the rows built again in the rare case they changed meanwhile, so a finding never gets
/// the deadline of a policy replaced before it was written. One finding (someone's edit, a short turn) and
/// PostgreSQL's writers, which do not queue, build them in the transaction. The returned rows become models
/// after the commit.
pub async fn create_many(
    state: &AppState,
    actor: &Actor,
    inputs: Vec<NewFinding>,
) -> ServiceResult<Vec<finding::Model>> {
    let max = state.config.limits.max_batch_create;
    if inputs.len() > max {
        return Err(ServiceError::bad_input(format!("at most {max} findings per call, got {}", inputs.len())));
    }
    let now = state.clock.now();
    let several = inputs.len() > 1;
    let backend = state.db.get_database_backend();
    let named = Named::of(&inputs);
    let built_before = if several && state.write_turns.taken_in_turn() {
        let context = Context::read(&state.db, actor, &named).await?;
        let statements = context.statements(backend, inputs.clone(), now)?;
        Some((context, statements))
    } else {
        None
    };
    // One finding is someone's edit; more are an import, which goes after edits waiting.
    let txn = if several { state.begin_batch_write().await? } else { state.begin_write().await? };
    let context = Context::read(&txn, actor, &named).await?;
    let statements = match built_before {
        Some((before, statements)) if before == context => statements,
        _ => context.statements(backend, inputs, now)?,
    };
    let mut returned = Vec::new();
    for statement in statements {
        returned.extend(txn.query_all_raw(statement).await?);
    }
    txn.commit().await?;
    let created =
        returned.iter().map(|row| finding::Model::from_query_result(row, "")).collect::<Result<Vec<_>, _>>()?;
    state.announce(created.iter().map(|f| Signal::Finding { id: f.id }).collect()).await;
    Ok(created)
}

/// The products and engagements a batch names, each once.
struct Named {
    products: Vec<ProductId>,
    engagements: Vec<EngagementId>,
}

impl Named {
    fn of(inputs: &[NewFinding]) -> Self {
        let mut products: Vec<ProductId> = Vec::new();
        for input in inputs {
            if !products.contains(&input.product_id) {
                products.push(input.product_id);
            }
        }
        let mut engagements: Vec<EngagementId> = inputs.iter().filter_map(|input| input.engagement_id).collect();
        engagements.sort_unstable();
        engagements.dedup();
        Self { products, engagements }
    }
}

/// What a batch's rows depend on besides its inputs, in a handful of queries: each product's SLA policy and the
/// product of each engagement named. (The actor's roles decide whether the batch may be written, checked at each
/// read, not what its rows hold.)
#[derive(PartialEq, Eq)]
struct Context {
    policies: HashMap<ProductId, SlaPolicy>,
    engagement_products: HashMap<EngagementId, ProductId>,
}

impl Context {
    /// Reads the context of `named` after checking the actor may write to each product: `NOT_FOUND` for a product
    /// the actor cannot view (or that does not exist), `FORBIDDEN` for one the actor may not write to.
    async fn read<C: ConnectionTrait>(conn: &C, actor: &Actor, named: &Named) -> ServiceResult<Self> {
        let roles = access::product_roles(conn, actor, &named.products).await?;
        for product_id in &named.products {
            let role = roles.get(product_id).ok_or_else(|| ServiceError::not_found("product"))?;
            access::ensure_allows(*role, ProductRole::Writer)?;
        }
        let policies = findings::product_policies(conn, &named.products).await?;
        let engagement_products = engagement_products(conn, &named.engagements).await?;
        Ok(Self { policies, engagement_products })
    }

    /// The rows of `inputs` (validated: an error names the input's index when there are several), as `INSERT`s
    /// of `ROWS_AT_ONCE` rows that return every column.
    fn statements(
        &self,
        backend: sea_orm::DbBackend,
        inputs: Vec<NewFinding>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Statement>> {
        let several = inputs.len() > 1;
        let at_index = |index: usize, err: ServiceError| match err {
            ServiceError::BadInput(m) if several => ServiceError::BadInput(format!("inputs[{index}]: {m}")),
            other => other,
        };
        let mut rows = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            if let Some(engagement_id) = input.engagement_id {
                check_engagement(self.engagement_products.get(&engagement_id).copied(), input.product_id)
                    .map_err(|e| at_index(index, e))?;
            }
            let policy = self.policies.get(&input.product_id).ok_or_else(|| ServiceError::not_found("product"))?;
            rows.push(findings::new_row(input, policy, now).map_err(|e| at_index(index, e))?);
        }
        let every_column: Vec<finding::Column> = finding::Column::iter().collect();
        Ok(findings::insert_statements(backend, rows, ROWS_AT_ONCE, &every_column))
    }
}
