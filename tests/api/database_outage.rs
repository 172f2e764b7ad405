//! PostgreSQL going away and coming back (issue 17, point 8), imitated by a TCP proxy between slawatch and
//! the real server that the test stops (every connection cut, new ones refused) and starts again on the
//! same port: `/readyz` says 503 at once, API requests fail with `SERVICE_UNAVAILABLE` after the short
//! bounded wait instead of hanging for half a minute, and everything works again once it is back. Runs
//! when `TEST_DATABASE_URL` is set (CI); SQLite is a file, not a server.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::helpers::spawn_app_with;

/// Forwards connections from `listener` to `target` until dropped (then every connection is cut).
struct Proxy {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(port: u16, target: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("the proxy binds");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { port, task }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Aborting the task drops the listener and the JoinSet, which aborts every forwarded connection.
        self.task.abort();
    }
}

#[tokio::test]
async fn while_postgresql_is_away_requests_fail_fast_and_work_again_when_it_is_back() {
    let Some(base) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL outage test (CI runs it)");
        return;
    };
    let parsed = url::Url::parse(&base).expect("a URL");
    let target: SocketAddr =
        format!("{}:{}", parsed.host_str().expect("host"), parsed.port().unwrap_or(5432)).parse().expect("an address");
    let proxy = Proxy::start(0, target).await;
    let port = proxy.port;
    let app = spawn_app_with(|config| {
        let mut url = url::Url::parse(&config.database_url).expect("a URL");
        url.set_host(Some("127.0.0.1")).expect("host");
        url.set_port(Some(port)).expect("port");
        config.database_url = url.to_string();
        config.db_acquire_timeout = Duration::from_secs(2);
    })
    .await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("client");
    let create = |name: &'static str| {
        client
            .post(app.url("/graphql"))
            .header("authorization", format!("Token {}", app.admin_api_token))
            .json(
                &json!({ "query": format!("mutation {{ createProductType(input: {{name: \"{name}\"}}) {{ id }} }}") }),
            )
            .send()
    };
    assert_eq!(client.get(app.url("/readyz")).send().await.expect("ready").status(), 200);

    drop(proxy);
    let ready = client.get(app.url("/readyz")).send().await.expect("an answer, not a hang");
    assert_eq!(ready.status(), 503);
    let refused: serde_json::Value =
        create("during the outage").await.expect("an answer within the bounded wait").json().await.expect("JSON");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{refused}");

    let _back = Proxy::start(port, target).await;
    let mut ready = false;
    for _ in 0..100 {
        if client.get(app.url("/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once PostgreSQL is back");
    let created: serde_json::Value = create("after the outage").await.expect("answer").json().await.expect("JSON");
    assert!(created["data"]["createProductType"]["id"].is_string(), "{created}");
}
