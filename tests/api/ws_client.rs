//! A small `graphql-transport-ws` (and legacy `graphql-ws`) client over a real websocket, for the tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::TestApp;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

/// How the server answered `connection_init`.
#[derive(Debug)]
pub enum Refusal {
    /// The socket was closed with this code and reason.
    Closed(u16, String),
    /// A legacy `connection_error` message.
    ConnectionError(Value),
}

pub struct WsClient {
    socket: Socket,
    protocol: &'static str,
}

impl WsClient {
    /// Connects to `/graphql/ws` and completes `connection_init` with `payload`.
    pub async fn connect(app: &TestApp, protocol: &'static str, payload: Value) -> Result<Self, Refusal> {
        Self::connect_to(&app.address, protocol, payload).await
    }

    /// Like `connect`, to the server at `http_base` (`http://host:port`).
    pub async fn connect_to(http_base: &str, protocol: &'static str, payload: Value) -> Result<Self, Refusal> {
        let mut client = Self::upgrade(http_base, protocol).await.expect("websocket upgrade");
        client.send(json!({ "type": "connection_init", "payload": payload })).await;
        loop {
            match client.receive(Duration::from_secs(10)).await {
                Some(Ok(message)) if message["type"] == "connection_ack" => return Ok(client),
                Some(Ok(message)) if message["type"] == "ka" => {}
                Some(Ok(message)) if message["type"] == "connection_error" => {
                    return Err(Refusal::ConnectionError(message["payload"].clone()));
                }
                Some(Ok(other)) => panic!("unexpected answer to connection_init: {other}"),
                Some(Err(refusal)) => return Err(refusal),
                None => panic!("no answer to connection_init"),
            }
        }
    }

    /// Only the websocket upgrade, without `connection_init` (the HTTP error of a refused upgrade as `Err`).
    pub async fn upgrade(
        http_base: &str,
        protocol: &'static str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let url = format!("{http_base}/graphql/ws").replacen("http", "ws", 1);
        let mut request = url.into_client_request().expect("websocket request");
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        let (socket, response) = tokio_tungstenite::connect_async(request).await?;
        assert_eq!(
            response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
            Some(protocol),
            "the server speaks the protocol asked for"
        );
        Ok(Self { socket, protocol })
    }

    /// The close code and reason the server ends the socket with within `wait`, skipping other messages;
    /// `None` when it stays open.
    pub async fn closed_within(&mut self, wait: Duration) -> Option<(u16, String)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.receive(left).await {
                Some(Ok(_)) => {}
                Some(Err(Refusal::Closed(code, reason))) => return Some((code, reason)),
                Some(Err(other)) => panic!("unexpected {other:?}"),
                None => return None,
            }
        }
    }

    /// Starts a subscription with id `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.protocol == TRANSPORT_WS { "subscribe" } else { "start" };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } })).await;
    }

    /// The next `next`/`data` (or `error`) message within `wait`, skipping keep-alives.
    pub async fn next_message(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match self.receive(wait).await {
                Some(Ok(message)) if message["type"] == "ka" || message["type"] == "ping" => {}
                Some(Ok(message)) => return Some(message),
                Some(Err(refusal)) => panic!("the socket closed: {refusal:?}"),
                None => return None,
            }
        }
    }

    /// The first `next` or `error` message of subscription `id`.
    pub async fn answer_to(&mut self, id: &str) -> Value {
        loop {
            let message = self.next_message(Duration::from_secs(5)).await.expect("an answer within 5 s");
            if message["id"] == id && message["type"] != "complete" {
                return message;
            }
        }
    }

    /// Every message that arrives within `wait`.
    pub async fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return messages;
            }
            match self.next_message(left).await {
                Some(message) => messages.push(message),
                None => return messages,
            }
        }
    }

    async fn send(&mut self, message: Value) {
        self.socket.send(Message::Text(message.to_string().into())).await.expect("send on the websocket");
    }

    /// A JSON message, a close (as `Err`), or `None` on timeout.
    async fn receive(&mut self, wait: Duration) -> Option<Result<Value, Refusal>> {
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(Ok(serde_json::from_str(&text).expect("the server sends JSON")));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| (f.code.into(), f.reason.to_string()));
                    return Some(Err(Refusal::Closed(code, reason)));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Some(Err(Refusal::Closed(1006, String::new()))),
            }
        }
    }
}

/// Waits until the server has `count` live subscriptions (a subscription registers just after `subscribe`).
pub async fn wait_for_subscribers(app: &TestApp, count: usize) {
    for _ in 0..500 {
        if app.state.live.subscriber_count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {count} live subscriptions, found {}", app.state.live.subscriber_count());
}
