//! The life of one websocket connection after its upgrade: it must send `connection_init` in time, its
//! credentials are checked again whenever its user changes and when its session token expires, and it is
//! closed (4408, 4403) when any of that fails. Also the count of sockets per client address still waiting
//! for their `connection_init`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::service::Actor;
use crate::service::auth::{self, Identity};
use crate::state::AppState;

/// Close codes of the `graphql-transport-ws` protocol.
pub const CLOSE_FORBIDDEN: u16 = 4403;
pub const CLOSE_INIT_TIMEOUT: u16 = 4408;

/// Where a connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketState {
    /// Upgraded; no accepted `connection_init` yet.
    AwaitingInit,
    /// Signed in; the session token (if any) expires after `expires_in` from when this was set.
    Open { expires_in: Option<Duration> },
    /// To be closed with this code and reason.
    Ended { code: u16, reason: String },
}

/// One connection's signed-in session, shared by its subscriptions (connection data).
#[derive(Debug, Clone)]
pub struct ConnectionSession {
    /// Shared, not copied, by the connection's subscriptions (each holds the session).
    credential: Arc<str>,
    actor: Actor,
    /// Epoch seconds at which the session token expires (`None` for API tokens).
    expires_at: Option<i64>,
    state: Arc<watch::Sender<SocketState>>,
}

impl ConnectionSession {
    /// Opens the session of `actor`, signed in with `credential`, on a connection watched through `state`.
    #[must_use]
    pub fn open(
        credential: String,
        actor: Actor,
        expires_at: Option<i64>,
        now: DateTime<Utc>,
        state: Arc<watch::Sender<SocketState>>,
    ) -> Self {
        let expires_in = expires_at.map(|at| Duration::from_secs(u64::try_from(at - now.timestamp()).unwrap_or(0)));
        state.send_replace(SocketState::Open { expires_in });
        Self { credential: credential.into(), actor, expires_at, state }
    }

    /// Whether the session token has expired at `now`.
    #[must_use]
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now.timestamp())
    }

    /// Checks the credentials again (after a change to the user): `Err(reason)` when they no longer sign in
    /// the same user with the same privileges.
    pub async fn recheck(&self, app: &AppState) -> Result<(), String> {
        match auth::authenticate(app, Some(&self.credential)).await {
            Ok(Identity::Authenticated(actor)) if actor.is_superuser == self.actor.is_superuser => Ok(()),
            Ok(Identity::Authenticated(_)) => Err("your privileges changed: connect again".to_owned()),
            Ok(Identity::Refused(reason)) => Err(reason),
            Ok(Identity::Anonymous) => Err("the credentials are gone".to_owned()),
            Err(err) => Err(format!("could not check the credentials: {}", err.public_message())),
        }
    }

    /// Closes the connection with 4403 and `reason`.
    pub fn end(&self, reason: String) {
        self.state.send_replace(SocketState::Ended { code: CLOSE_FORBIDDEN, reason });
    }
}

/// Resolves with the close code and reason once the connection must close: no `connection_init` within
/// `init_timeout`, its session token expired (real time), or a subscription ended the session.
pub async fn closing(mut state: watch::Receiver<SocketState>, init_timeout: Duration) -> (u16, String) {
    let init_deadline = tokio::time::Instant::now() + init_timeout;
    let mut expiry: Option<tokio::time::Instant> = None;
    loop {
        let current = state.borrow_and_update().clone();
        let (deadline, on_deadline) = match current {
            SocketState::Ended { code, reason } => return (code, reason),
            SocketState::AwaitingInit => {
                (Some(init_deadline), (CLOSE_INIT_TIMEOUT, "Connection initialisation timeout"))
            }
            SocketState::Open { expires_in } => {
                expiry = expiry.or_else(|| expires_in.map(|left| tokio::time::Instant::now() + left));
                (expiry, (CLOSE_FORBIDDEN, "the session token has expired"))
            }
        };
        let wait = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(wait);
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    // Nobody can end the session any more; only a deadline still can.
                    (&mut wait).await;
                    return (on_deadline.0, on_deadline.1.to_owned());
                }
            }
            () = &mut wait => return (on_deadline.0, on_deadline.1.to_owned()),
        }
    }
}

/// Sockets per client address that have not sent an accepted `connection_init` yet.
#[derive(Debug, Default)]
pub struct PendingSockets {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

impl PendingSockets {
    /// A place for one more unauthenticated socket from `address`, or `None` when it has `max` already.
    pub fn admit(self: &Arc<Self>, address: IpAddr, max: usize) -> Option<PendingSocket> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(address).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(PendingSocket { sockets: Arc::clone(self), address })
    }
}

/// Holds a place among the pending sockets until dropped (on `connection_init` or when the socket ends).
#[derive(Debug)]
pub struct PendingSocket {
    sockets: Arc<PendingSockets>,
    address: IpAddr,
}

impl Drop for PendingSocket {
    fn drop(&mut self) {
        let mut counts = self.sockets.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// A socket's place among the pending ones, shared by its `connection_init` and its writer: given back at an
/// accepted `connection_init` or just before the socket's close frame goes out, whichever comes first. Given
/// back only when the socket's future was dropped, it came back after the close frame had reached the client,
/// so a client told 4408 that connected again at once could be refused with 429.
#[derive(Debug, Clone)]
pub struct PendingPlace(Arc<Mutex<Option<PendingSocket>>>);

impl PendingPlace {
    #[must_use]
    pub fn new(pending: PendingSocket) -> Self {
        Self(Arc::new(Mutex::new(Some(pending))))
    }

    /// Gives the place back (once; later calls do nothing).
    pub fn give_back(&self) {
        drop(self.0.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_sockets_are_limited_per_address_and_given_back() {
        let sockets = Arc::new(PendingSockets::default());
        let here = IpAddr::from([127, 0, 0, 1]);
        let first = sockets.admit(here, 2);
        let second = sockets.admit(here, 2);
        assert!(first.is_some() && second.is_some());
        assert!(sockets.admit(here, 2).is_none());
        assert!(sockets.admit(IpAddr::from([127, 0, 0, 2]), 2).is_some(), "another address");
        drop(first);
        assert!(sockets.admit(here, 2).is_some());
    }

    #[test]
    fn a_shared_place_is_given_back_once_by_whichever_holder_comes_first() {
        let sockets = Arc::new(PendingSockets::default());
        let here = IpAddr::from([127, 0, 0, 1]);
        let place = PendingPlace::new(sockets.admit(here, 1).expect("a place"));
        let writer = place.clone();
        assert!(sockets.admit(here, 1).is_none(), "held");
        writer.give_back();
        let next = sockets.admit(here, 1).expect("given back before either holder is dropped");
        place.give_back();
        drop((place, writer));
        assert!(sockets.admit(here, 1).is_none(), "the next socket's place is not given back twice");
        drop(next);
    }

    #[tokio::test(start_paused = true)]
    async fn a_socket_without_connection_init_closes_with_4408() {
        let (_state, watched) = watch::channel(SocketState::AwaitingInit);
        let (code, _) = closing(watched, Duration::from_secs(10)).await;
        assert_eq!(code, CLOSE_INIT_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_session_closes_with_4403_when_its_token_expires() {
        let (state, watched) = watch::channel(SocketState::AwaitingInit);
        state.send_replace(SocketState::Open { expires_in: Some(Duration::from_secs(3600)) });
        let started = tokio::time::Instant::now();
        let (code, reason) = closing(watched, Duration::from_secs(10)).await;
        assert_eq!(code, CLOSE_FORBIDDEN);
        assert!(reason.contains("expired"));
        assert!(started.elapsed() >= Duration::from_secs(3600));
    }

    #[tokio::test(start_paused = true)]
    async fn an_ended_session_closes_at_once_with_its_reason() {
        let (state, watched) = watch::channel(SocketState::Open { expires_in: None });
        let closer = tokio::spawn(closing(watched, Duration::from_secs(10)));
        state.send_replace(SocketState::Ended { code: CLOSE_FORBIDDEN, reason: "deactivated".to_owned() });
        assert_eq!(closer.await.expect("joins"), (CLOSE_FORBIDDEN, "deactivated".to_owned()));
    }
}
