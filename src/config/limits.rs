//! Request limits: sizes, counts and rates a client may use, each with a default and an override.

/// Request limits, in the spirit of GitHub's public GraphQL API.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    /// Fields a document may select once its fragments are expanded (aliases and `__typename` count).
    pub max_query_fields: u64,
    pub max_body_bytes: usize,
    /// The largest scanner report an import accepts (REST form or GraphQL upload); it is spooled to disk.
    pub max_report_bytes: usize,
    pub max_page_size: u64,
    pub max_batch_create: usize,
    pub login_failures_allowed: u32,
    pub login_failure_window_seconds: i64,
    /// The largest websocket message a client may send.
    pub max_ws_message_bytes: usize,
    /// Subscriptions one websocket connection may hold at once.
    pub max_subscriptions_per_connection: usize,
    /// Websocket connections one client address may have waiting for their `connection_init` at once.
    pub max_pending_sockets_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_query_depth: 18,
            max_query_complexity: 5_000,
            max_query_fields: 2_000,
            max_body_bytes: 2 * 1024 * 1024,
            max_report_bytes: 100 * 1024 * 1024,
            max_page_size: 100,
            max_batch_create: 1_000,
            login_failures_allowed: 5,
            login_failure_window_seconds: 300,
            max_ws_message_bytes: 64 * 1024,
            max_subscriptions_per_connection: 20,
            max_pending_sockets_per_address: 16,
        }
    }
}

/// `bytes` in whole MiB, rounded up, for messages that name a limit.
#[must_use]
pub fn mebibytes(bytes: usize) -> usize {
    bytes.div_ceil(1024 * 1024)
}
