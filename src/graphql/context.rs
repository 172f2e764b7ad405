//! What a resolver takes from the request context: the state, the actor, ids and page arguments.

use async_graphql::{Context, ID};

use crate::domain::EntityId;
use crate::error::{ServiceError, ServiceResult};
use crate::service::Actor;
use crate::service::auth::Identity;
use crate::service::page::{PageParts, PageRequest};
use crate::state::AppState;

/// Shortcuts on the resolver context.
pub trait ContextExt {
    fn state(&self) -> ServiceResult<&AppState>;
    /// The signed-in user, or UNAUTHENTICATED.
    fn actor(&self) -> ServiceResult<&Actor>;
    /// Where the request (or the websocket connection) came from.
    fn origin(&self) -> ServiceResult<&RequestOrigin>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> ServiceResult<&AppState> {
        self.data::<AppState>().map_err(|_| ServiceError::internal("application state missing from the schema"))
    }

    fn actor(&self) -> ServiceResult<&Actor> {
        match self.data_opt::<Identity>() {
            Some(identity) => identity.actor(),
            None => Identity::Anonymous.actor(),
        }
    }

    fn origin(&self) -> ServiceResult<&RequestOrigin> {
        self.data::<RequestOrigin>().map_err(|_| ServiceError::internal("request origin missing from the context"))
    }
}

/// A typed id from a GraphQL `ID` (a positive number; the message names what it should identify).
pub fn parse_id<I: EntityId>(id: &ID) -> ServiceResult<I> {
    id.parse::<i32>()
        .ok()
        .filter(|v| *v > 0)
        .map(I::new)
        .ok_or_else(|| ServiceError::bad_input(format!("invalid {} id {:?}", I::WHAT, id.as_str())))
}

/// Optional id argument.
pub fn parse_opt_id<I: EntityId>(id: Option<&ID>) -> ServiceResult<Option<I>> {
    id.map(parse_id).transpose()
}

/// Relay arguments to a page request (cursors are ids), for the parts of the connection the query selects.
pub fn page_request(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> ServiceResult<PageRequest> {
    let cursor = |c: Option<String>| -> ServiceResult<Option<i32>> {
        c.map(|text| text.parse::<i32>().map_err(|_| ServiceError::bad_input(format!("invalid cursor {text:?}"))))
            .transpose()
    };
    let selection = ctx.look_ahead();
    let parts = PageParts {
        total_count: selection.field("totalCount").exists(),
        items: ["edges", "nodes", "pageInfo"].iter().any(|name| selection.field(name).exists()),
    };
    Ok(PageRequest { first, after: cursor(after)?, last, before: cursor(before)?, parts })
}

/// The complexity of a connection field: its page size times the cost of a node.
#[must_use]
pub fn connection_complexity(child: usize, first: Option<i32>, last: Option<i32>) -> usize {
    let size = first.or(last).map_or(20, |n| usize::try_from(n).unwrap_or(0).max(1));
    size.saturating_mul(child).saturating_add(1)
}

/// Where a request came from (per HTTP request, or per websocket connection), and whether it has used its
/// one `login`: an attempt is throttled per client address, and a request of 1,000 aliased `login`s must
/// not check 1,000 passwords.
#[derive(Debug)]
pub struct RequestOrigin {
    pub address: std::net::IpAddr,
    login_used: std::sync::atomic::AtomicBool,
}

impl RequestOrigin {
    #[must_use]
    pub fn new(address: std::net::IpAddr) -> Self {
        Self { address, login_used: std::sync::atomic::AtomicBool::new(false) }
    }

    /// The request's one `login`, or `BAD_USER_INPUT` for a second one.
    pub fn take_login(&self) -> ServiceResult<()> {
        if self.login_used.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(ServiceError::bad_input("one login per request: send each login as its own request"));
        }
        Ok(())
    }
}
