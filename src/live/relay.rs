//! On PostgreSQL: `LISTEN` for the live signals of every instance and hand them to this instance's
//! subscribers.

use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::{oneshot, watch};

use sea_orm::DatabaseConnection;

use super::LiveBus;

/// Listens until `stopped` turns true; reports on `ready` once the first `LISTEN` is in place (or failed).
pub async fn run(
    db: DatabaseConnection,
    live: LiveBus,
    mut stopped: watch::Receiver<bool>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        match listen(&db).await {
            Ok(mut listener) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                loop {
                    tokio::select! {
                        _ = stopped.changed() => return,
                        received = listener.recv() => match received {
                            Ok(notification) => {
                                let signals = super::parse_payload(notification.payload());
                                live.deliver_locally(&db, &signals).await;
                            }
                            // The listener reconnects on the next call; signals sent meanwhile are lost, and
                            // dashboards catch up on their next query.
                            Err(err) => tracing::warn!(error = %err, "live event listener interrupted"),
                        },
                    }
                }
            }
            Err(err) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                tracing::warn!(error = %err, "cannot listen for live events; retrying in 5 s");
                tokio::select! {
                    _ = stopped.changed() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                }
            }
        }
        if *stopped.borrow() {
            return;
        }
    }
}

async fn listen(db: &DatabaseConnection) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
    listener.listen(super::CHANNEL).await?;
    Ok(listener)
}
