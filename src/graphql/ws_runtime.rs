//! The threads websocket connections run on with SQLite, apart from the request handlers' and below them
//! in priority: a commit that concerns many dashboards (an import's findings, a sweep's breaches) readies
//! thousands of subscription messages at once, and on the request handlers' threads every request that
//! arrived meanwhile waited for them in the queue.

use std::sync::OnceLock;

/// The niceness of the connections' threads: the lowest. Linux weighs a thread of nice 19 at about 1/70 of
/// one of nice 0, so a request that wakes takes a core from the connections at once; with the cores idle
/// most of the time the connections still have them. Against nice 10 (a tenth of the weight) it cut the reads
/// over 20 ms by two fifths in the day-in-the-life bench, and with the requests back to back the dashboards
/// still got as many messages a second (BENCHMARKS.md, "Websocket connections on threads of their own").
const NICENESS: i32 = 19;

/// Runs a websocket connection until it ends: on the connections' threads where `apart` (on the caller's
/// runtime if they could not be started, which is logged once), else on the caller's.
///
/// Only SQLite's connections run apart. A PostgreSQL connection of the pool is a socket of the runtime that
/// opened it, and a socket's readiness is only seen when a thread of that runtime looks: a pool connection
/// opened by a websocket's query would keep every later request using it waiting on the niced threads while
/// they are busy. Measured on PostgreSQL, the reads gained nothing and the delivery lag's p99 tripled
/// (BENCHMARKS.md, "Websocket connections on threads of their own"). SQLite's connections are threads of
/// their own, reached through channels, and belong to no runtime.
pub fn spawn(connection: impl Future<Output = ()> + Send + 'static, apart: bool) {
    match runtime().filter(|_| apart) {
        Some(runtime) => drop(runtime.spawn(connection)),
        None => drop(tokio::spawn(connection)),
    }
}

/// Started with the first connection and kept for the life of the process, like tokio's blocking pool: a
/// runtime dropped inside another one's task would panic.
fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let threads = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("slawatch-live")
                .enable_all()
                .on_thread_start(lower_priority)
                .build()
                .inspect_err(|err| {
                    tracing::warn!(error = %err, "could not start the websocket threads; connections share the request handlers'");
                })
                .ok()
        })
        .as_ref()
}

/// Lowers the calling thread's priority: on Linux the niceness of "the calling process" is the calling
/// thread's own. Where that is not allowed the connections run at the handlers' priority, on threads of
/// their own still.
fn lower_priority() {
    if let Err(err) = rustix::process::setpriority_process(None, NICENESS) {
        tracing::debug!(error = %err, "could not lower a websocket thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_run_on_threads_of_their_own_below_the_handlers() {
        let callers = rustix::process::getpriority_process(None).expect("the test's own niceness");
        let (told, heard) = tokio::sync::oneshot::channel();
        spawn(
            async move {
                let thread = std::thread::current().name().map(str::to_owned);
                let niceness = rustix::process::getpriority_process(None).ok();
                let _ = told.send((thread, niceness));
            },
            true,
        );
        let (thread, niceness) = heard.await.expect("the connection ran");
        assert_eq!(thread.as_deref(), Some("slawatch-live"));
        // A process started nicer still cannot make them less nice.
        assert_eq!(niceness, Some(NICENESS.max(callers)));
        assert_eq!(
            rustix::process::getpriority_process(None).ok(),
            Some(callers),
            "the caller's thread is left as it was"
        );
    }

    #[tokio::test]
    async fn connections_not_apart_run_on_the_callers_runtime() {
        let (told, heard) = tokio::sync::oneshot::channel();
        spawn(
            async move {
                let _ = told.send(std::thread::current().name().map(str::to_owned));
            },
            false,
        );
        let thread = heard.await.expect("the connection ran");
        assert_ne!(thread.as_deref(), Some("slawatch-live"));
    }
}
