//! `/graphql/ws`: subscriptions over `graphql-transport-ws` (and the legacy `graphql-ws`), authenticated by
//! the `connection_init` payload: `{"authorization": "Bearer <jwt>"}` (or `Token <api token>`) or
//! `{"token": "<jwt or api token>"}`. Refused credentials close the socket with 4403, and so do credentials
//! that stop being valid while it is open (`ws_session`); no `connection_init` in time closes it with 4408.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_graphql::Data;
use async_graphql::dataloader::DataLoader;
use async_graphql::futures_util::future::ready;
use async_graphql::futures_util::{FutureExt, SinkExt, StreamExt};
use async_graphql::http::{WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use super::context::RequestOrigin;
use super::http::GraphqlEndpoint;
use super::loaders::UserLoader;
use super::subscriptions::SubscriptionSlots;
use super::ws_session::{ConnectionSession, PendingPlace, PendingSocket, SocketState, closing};
use crate::service::auth::{self, Identity};
use crate::state::AppState;

/// The reason prefix that marks a refusal of credentials.
const REFUSED: &str = "Forbidden: ";

/// The read buffer of one websocket connection (and the size its writes are gathered to). GraphQL messages
/// from a client are a few hundred bytes; a longer one still arrives whole, up to the size limit. Every idle
/// subscriber holds this buffer (tungstenite's default is 128 KiB).
const WS_READ_BUFFER_BYTES: usize = 1024;

/// At most this many messages that are ready at once go out in one write. A dashboard's subscriptions often
/// have several at a time (an import's findings of its product, their SLA events); the bound keeps one busy
/// socket from holding its task while others wait.
const MESSAGES_PER_WRITE: usize = 32;

/// `GET /graphql/ws`. At most `max_pending_sockets_per_address` sockets per client address may wait for
/// their `connection_init` at once (429 beyond); a request offering no GraphQL websocket protocol is 400.
pub async fn graphql_ws(
    State(endpoint): State<GraphqlEndpoint>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = offered_protocol(&headers) else {
        let message =
            "offer a GraphQL websocket protocol (graphql-transport-ws or graphql-ws) in Sec-WebSocket-Protocol";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    let limits = endpoint.state.config.limits;
    let Some(pending) = endpoint.pending_sockets.admit(peer.ip(), limits.max_pending_sockets_per_address) else {
        let message = "too many websocket connections from this address are waiting for connection_init";
        return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
    };
    upgrade
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(WS_READ_BUFFER_BYTES)
        .max_message_size(limits.max_ws_message_bytes)
        .max_frame_size(limits.max_ws_message_bytes)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let apart = endpoint.state.connections_belong_to_no_runtime();
            super::ws_runtime::spawn(serve_socket(&endpoint, protocol, socket, pending, peer.ip()), apart);
            ready(())
        })
}

/// The first GraphQL websocket protocol the client offers.
fn offered_protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    let offered = headers.get(header::SEC_WEBSOCKET_PROTOCOL)?.to_str().ok()?;
    offered.split(',').find_map(|protocol| protocol.trim().parse().ok())
}

/// What `connection_init` needs, boxed: the protocol keeps its callback's place for as long as the
/// connection lasts, so it holds a pointer there.
struct InitContext {
    state: AppState,
    socket_state: Arc<watch::Sender<SocketState>>,
    pending: PendingPlace,
    client: IpAddr,
}

/// The future that runs the GraphQL protocol on `socket` until the client leaves or the connection must
/// close. Not an `async fn`: one keeps its arguments (the socket, the endpoint) in its future for as long as
/// it runs, even once moved out, and every idle subscriber's connection holds this future.
fn serve_socket(
    endpoint: &GraphqlEndpoint,
    protocol: WebSocketProtocols,
    socket: WebSocket,
    pending: PendingSocket,
    client: IpAddr,
) -> impl Future<Output = ()> + Send + use<> {
    let (mut sink, stream) = socket.split();
    // The client's text and binary messages until it leaves or its socket fails.
    let incoming = stream.take_while(|message| ready(message.is_ok())).filter_map(|message| {
        ready(match message {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
            _ => None,
        })
    });
    let (socket_state, watched) = watch::channel(SocketState::AwaitingInit);
    let place = PendingPlace::new(pending);
    let pending = place.clone();
    let init =
        Box::new(InitContext { state: endpoint.state.clone(), socket_state: Arc::new(socket_state), pending, client });
    let init_timeout = endpoint.state.config.ws_init_timeout;
    let outgoing = async_graphql::http::WebSocket::new(endpoint.socket_schema.clone(), incoming, protocol)
        .on_connection_init(move |payload| async move {
            let InitContext { state, socket_state, pending, client } = *init;
            let data = connection_init(state, payload, socket_state, client).await?;
            // Signed in: no longer one of the address's pending sockets.
            pending.give_back();
            Ok(data)
        });
    let outgoing = outgoing.map(|message| forbidden_code(axum_message(message)));
    async move {
        let mut outgoing = std::pin::pin!(outgoing);
        let mut closing = std::pin::pin!(closing(watched, init_timeout));
        loop {
            let first = tokio::select! {
                message = outgoing.next() => match message {
                    Some(message) => message,
                    None => break,
                },
                (code, reason) = &mut closing => {
                    Message::Close(Some(CloseFrame { code, reason: fit_close_reason(&reason).into() }))
                }
            };
            // The messages already waiting go out with it, in one write (a system call) instead of one each.
            let (mut next, mut written, mut ended) = (Some(first), 0, false);
            while let Some(message) = next.take() {
                ended = matches!(message, Message::Close(_));
                if ended {
                    place.give_back();
                }
                if sink.feed(message).await.is_err() {
                    return;
                }
                written += 1;
                if !ended && written < MESSAGES_PER_WRITE {
                    match outgoing.next().now_or_never() {
                        Some(None) => ended = true,
                        Some(message) => next = message,
                        None => {}
                    }
                }
            }
            if sink.flush().await.is_err() || ended {
                return;
            }
        }
    }
}

/// A message of the GraphQL protocol as axum sends it.
fn axum_message(message: WsMessage) -> Message {
    match message {
        WsMessage::Text(text) => Message::Text(text.into()),
        WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame { code, reason: reason.into() })),
    }
}

/// async-graphql closes a refused `connection_init` with 1002; graphql-transport-ws asks for 4403.
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
