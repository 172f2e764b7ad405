//! Job leases: with several instances on one PostgreSQL, each scheduled job runs on one instance at a time.
//! The holder renews its lease on every run; a lease left by a stopped or crashed instance expires.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entity::job_lease;
use crate::error::ServiceResult;

/// Takes or renews the lease on `job` for `holder` until `now + ttl_seconds`. Returns whether it holds it.
pub async fn try_acquire<C: ConnectionTrait>(
    conn: &C,
    job: &str,
    holder: &str,
    now: i64,
    ttl_seconds: i64,
) -> ServiceResult<bool> {
    job_lease::Entity::insert(job_lease::ActiveModel {
        name: Set(job.to_owned()),
        holder: Set(String::new()),
        lease_until: Set(0),
    })
    .on_conflict_do_nothing()
    .exec(conn)
    .await?;
    // One conditional UPDATE: of two instances racing for a free lease, exactly one changes the row.
    let taken = job_lease::Entity::update_many()
        .col_expr(job_lease::Column::Holder, Expr::value(holder))
        .col_expr(job_lease::Column::LeaseUntil, Expr::value(now + ttl_seconds))
        .filter(job_lease::Column::Name.eq(job))
        .filter(Expr::col(job_lease::Column::Holder).eq(holder).or(Expr::col(job_lease::Column::LeaseUntil).lt(now)))
        .exec(conn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Gives up every lease of `holder` (on shutdown), so another instance takes over at once.
pub async fn release_all<C: ConnectionTrait>(conn: &C, holder: &str) -> ServiceResult<()> {
    job_lease::Entity::update_many()
        .col_expr(job_lease::Column::LeaseUntil, Expr::value(0))
        .filter(job_lease::Column::Holder.eq(holder))
        .exec(conn)
        .await?;
    Ok(())
}
