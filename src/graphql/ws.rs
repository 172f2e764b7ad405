//! `/graphql/ws`: subscriptions over `graphql-transport-ws` (and the legacy `graphql-ws`), authenticated by
//! the `connection_init` payload: `{"authorization": "Bearer <jwt>"}` (or `Token <api token>`) or
//! `{"token": "<jwt or api token>"}`. Refused credentials close the socket with 4403, and so do credentials
//! that stop being valid while it is open (`ws_session`); no `connection_init` in time closes it with 4408.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_graphql::Data;
use async_graphql::dataloader::DataLoader;
use async_graphql::futures_util::{SinkExt, StreamExt, sink};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use super::context::RequestOrigin;
use super::http::GraphqlEndpoint;
use super::loaders::{ProductLoader, UserLoader};
use super::subscriptions::SubscriptionSlots;
use super::ws_session::{ConnectionSession, PendingSocket, SocketState, closing};
use crate::service::auth::{self, Identity};
use crate::state::AppState;

/// The reason prefix that marks a refusal of credentials.
const REFUSED: &str = "Forbidden: ";

/// The read and write buffer of one websocket connection.
const WS_BUFFER_BYTES: usize = 4 * 1024;

/// `GET /graphql/ws`. At most `max_pending_sockets_per_address` sockets per client address may wait for
/// their `connection_init` at once (429 beyond).
pub async fn graphql_ws(
    State(endpoint): State<GraphqlEndpoint>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let limits = endpoint.state.config.limits;
    let Some(pending) = endpoint.pending_sockets.admit(peer.ip(), limits.max_pending_sockets_per_address) else {
        let message = "too many websocket connections from this address are waiting for connection_init";
        return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
    };
    // GraphQL messages are small: 4 KiB buffers instead of tungstenite's 128 KiB each keep an idle
    // subscriber at a few dozen KiB (a longer message still arrives whole, up to the size limit).
    upgrade
        .read_buffer_size(WS_BUFFER_BYTES)
        .write_buffer_size(WS_BUFFER_BYTES)
        .max_message_size(limits.max_ws_message_bytes)
        .max_frame_size(limits.max_ws_message_bytes)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve_socket(endpoint, protocol, socket, pending, peer.ip()))
}

/// Runs the GraphQL protocol on `socket` until the client leaves or the connection must close.
async fn serve_socket(
    endpoint: GraphqlEndpoint,
    protocol: GraphQLProtocol,
    socket: WebSocket,
    pending: PendingSocket,
    client: IpAddr,
) {
    let (sink, stream) = socket.split();
    let sink = Arc::new(tokio::sync::Mutex::new(sink));
    // async-graphql closes a refused connection_init with 1002; graphql-transport-ws asks for 4403.
    let outgoing = sink::unfold(Arc::clone(&sink), |sink, message: Message| async move {
        sink.lock().await.send(forbidden_code(message)).await?;
        Ok::<_, axum::Error>(sink)
    });
    let (socket_state, watched) = watch::channel(SocketState::AwaitingInit);
    let socket_state = Arc::new(socket_state);
    let state = endpoint.state.clone();
    let init_timeout = state.config.ws_init_timeout;
    let protocol_run = GraphQLWebSocket::new_with_pair(outgoing, stream, endpoint.schema.clone(), protocol)
        .on_connection_init(move |payload| {
            let accepted = connection_init(state, payload, socket_state, client);
            async move {
                let data = accepted.await?;
                // Signed in: no longer one of the address's pending sockets.
                drop(pending);
                Ok(data)
            }
        })
        .serve();
    tokio::select! {
        () = protocol_run => {}
        (code, reason) = closing(watched, init_timeout) => {
            let frame = CloseFrame { code, reason: fit_close_reason(&reason).into() };
            let _ = sink.lock().await.send(Message::Close(Some(frame))).await;
        }
    }
}

fn forbidden_code(message: Message) -> Message {
    match message {
        Message::Close(Some(frame)) if frame.reason.as_str().starts_with(REFUSED) => {
            Message::Close(Some(CloseFrame { code: 4403, reason: fit_close_reason(frame.reason.as_str()).into() }))
        }
        other => other,
    }
}

/// A close frame's reason is at most 123 bytes (RFC 6455, 5.5); a longer one makes the frame invalid and the
/// client sees 1006 instead of the code. Cut at a character boundary.
fn fit_close_reason(reason: &str) -> &str {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason;
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// The `Authorization`-style credential in a `connection_init` payload.
fn credential(payload: &serde_json::Value) -> Option<String> {
    let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str).map(str::trim);
    if let Some(header) = field("authorization").or_else(|| field("Authorization")) {
        return Some(header.to_owned());
    }
    let token = field("token")?;
    // A JWT has three dot-separated parts; slawatch API tokens have none.
    Some(if token.split('.').count() == 3 { format!("Bearer {token}") } else { format!("Token {token}") })
}

async fn connection_init(
    state: AppState,
    payload: serde_json::Value,
    socket_state: Arc<watch::Sender<SocketState>>,
    client: IpAddr,
) -> async_graphql::Result<Data> {
    let Some(credential) = credential(&payload) else {
        return Err(format!("{REFUSED}send {{\"authorization\": \"Bearer <jwt>\"}} in connection_init").into());
    };
    let (actor, expires_at) = match auth::authenticate_session(&state, Some(&credential)).await {
        Ok((Identity::Authenticated(actor), expires_at)) => (actor, expires_at),
        Ok((Identity::Refused(reason), _)) => return Err(format!("{REFUSED}{reason}").into()),
        Ok((Identity::Anonymous, _)) => return Err(format!("{REFUSED}empty credentials").into()),
        Err(err) => return Err(format!("could not check the credentials: {}", err.public_message()).into()),
    };
    let now = state.clock.now();
    let session = ConnectionSession::open(credential, actor.clone(), expires_at, now, socket_state);
    let mut data = Data::default();
    data.insert(Identity::Authenticated(actor));
    data.insert(session);
    data.insert(RequestOrigin::new(client));
    data.insert(SubscriptionSlots::new(state.config.limits.max_subscriptions_per_connection));
    data.insert(DataLoader::new(ProductLoader(state.clone()), tokio::spawn));
    data.insert(DataLoader::new(UserLoader(state.clone()), tokio::spawn));
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_either_payload_shape() {
        let bearer = serde_json::json!({ "authorization": "Bearer a.b.c" });
        assert_eq!(credential(&bearer).as_deref(), Some("Bearer a.b.c"));
        assert_eq!(credential(&serde_json::json!({ "token": "a.b.c" })).as_deref(), Some("Bearer a.b.c"));
        assert_eq!(credential(&serde_json::json!({ "token": "sw_abc" })).as_deref(), Some("Token sw_abc"));
        assert_eq!(credential(&serde_json::json!({})), None);
        assert_eq!(credential(&serde_json::Value::Null), None);
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let long = "é".repeat(100);
        assert!(fit_close_reason(&long).len() <= 123);
        assert!(long.starts_with(fit_close_reason(&long)));
        assert_eq!(fit_close_reason("short"), "short");
    }

    #[test]
    fn only_refusals_get_4403() {
        let refused = Message::Close(Some(CloseFrame { code: 1002, reason: format!("{REFUSED}bad token").into() }));
        assert!(matches!(forbidden_code(refused), Message::Close(Some(frame)) if frame.code == 4403));
        let other = Message::Close(Some(CloseFrame { code: 1011, reason: "handshake".into() }));
        assert!(matches!(forbidden_code(other), Message::Close(Some(frame)) if frame.code == 1011));
    }
}
