//! Subscriptions: live SLA events, alerts, finding changes and deliveries, each filtered by what the
//! subscriber may view (taken when it subscribes, refreshed when its memberships change), and only while
//! the connection's session is valid (checked again when its user changes, and against its expiry).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::futures_util::future::BoxFuture;
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Context, ID, Result, Subscription};
use tokio::sync::broadcast::error::RecvError;

use super::context::{ContextExt, parse_opt_id};
use super::types::enums::{Severity, SlaEventKind};
use super::types::{Alert, Delivery, Finding, SlaEvent};
use super::ws_session::ConnectionSession;
use crate::domain::ProductId;
use crate::error::{ServiceError, ServiceResult};
use crate::live::{LiveEvent, Topic};
use crate::service::{Actor, access};
use crate::state::AppState;

/// The subscriptions one connection may still open (shared by the connection's subscriptions).
#[derive(Debug, Clone)]
pub struct SubscriptionSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

impl SubscriptionSlots {
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self { open: Arc::new(AtomicUsize::new(0)), max }
    }

    fn take(&self) -> ServiceResult<SlotGuard> {
        let taken =
            self.open.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| (open < self.max).then_some(open + 1));
        match taken {
            Ok(_) => Ok(SlotGuard(self.open.clone())),
            Err(_) => Err(ServiceError::RateLimited(format!(
                "at most {} subscriptions per connection: complete one first",
                self.max
            ))),
        }
    }
}

/// Gives the slot back when the subscription ends.
struct SlotGuard(Arc<AtomicUsize>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The products a subscriber may view (`None`: all, for a superuser).
struct Visibility(Option<HashSet<ProductId>>);

impl Visibility {
    async fn load(state: &AppState, actor: &Actor) -> ServiceResult<Self> {
        Ok(Self(access::visible_product_ids(&state.db, actor).await?.map(|ids| ids.into_iter().collect())))
    }

    fn allows(&self, product_id: ProductId) -> bool {
        self.0.as_ref().is_none_or(|ids| ids.contains(&product_id))
    }
}

/// What a subscription resolver returns: its events, boxed one by one.
type Events<T> = BoxStream<'static, Result<Box<T>>>;

/// Every live event of `topic` the subscriber may see, mapped by `pick`; a lagging subscriber gets an error
/// item. A subscription narrowed to a product or to its user's alerts listens to that topic alone, so the
/// rest of the traffic does not wake it.
///
/// async-graphql keeps, in one allocation for as long as a subscription lasts, the resolver's future (room
/// for its largest await), the stream it returned, and room for one item being resolved. So this future is
/// boxed, the stream is boxed and its items are boxed: each is a pointer there (4.1 KiB an idle
/// subscription before, BENCHMARKS.md "Fan-out memory"); every database read here is boxed for the same
/// reason inside the stream.
fn watch<'c, T, F>(ctx: &'c Context<'_>, topic: Topic, mut pick: F) -> BoxFuture<'c, Result<Events<T>>>
where
    T: Send + 'static,
    F: FnMut(&LiveEvent) -> Option<T> + Send + 'static,
{
    Box::pin(async move {
        let state = ctx.state()?.clone();
        let actor = ctx.actor()?.clone();
        let session = ctx.data_opt::<ConnectionSession>().cloned();
        let slot = match ctx.data_opt::<SubscriptionSlots>() {
            Some(slots) => Some(slots.take()?),
            None => None,
        };
        // Subscribe before reading the memberships, so nothing committed in between is missed.
        let mut receiver = state.live.subscribe(topic);
        let mut visible = Box::pin(Visibility::load(&state, &actor)).await?;
        let events: Events<T> = Box::pin(async_stream::stream! {
            let _slot = slot;
            'listening: loop {
                match receiver.recv().await {
                    Ok(batch) => {
                        // Nothing more for a session that has ended: the connection closes with 4403.
                        if let Some(session) = &session
                            && session.expired(state.clock.now())
                        {
                            session.end("the session token has expired".to_owned());
                            break;
                        }
                        for event in batch.iter() {
                            if let Some(session) = &session
                                && let LiveEvent::UserChanged { user_id } = event
                                && *user_id == actor.user_id
                                && let Err(reason) = Box::pin(session.recheck(&state)).await
                            {
                                session.end(reason);
                                break 'listening;
                            }
                            if let LiveEvent::MembershipChanged { user_id } = event {
                                if *user_id == actor.user_id {
                                    match Box::pin(Visibility::load(&state, &actor)).await {
                                        Ok(now_visible) => visible = now_visible,
                                        Err(err) => yield Err(err.into()),
                                    }
                                }
                                continue;
                            }
                            if event.product_id().is_some_and(|id| !visible.allows(id)) {
                                continue;
                            }
                            if let Some(item) = pick(event) {
                                yield Ok(Box::new(item));
                            }
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        // A signal to act on, not a failure: the subscription goes on, and the client reloads
                        // what it shows (the dashboard reloads its counts, table and alerts).
                        yield Err(resync_required(missed));
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
        Ok(events)
    })
}

/// The item a subscriber that fell behind gets: `extensions.code` `RESYNC_REQUIRED` and `missed`, the
/// number of live messages (each up to `live::EVENTS_PER_MESSAGE` events) it did not receive.
fn resync_required(missed: u64) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new(format!(
        "this subscriber fell behind and missed {missed} live messages: query again to catch up; the subscription \
         goes on"
    ))
    .extend_with(|_, extensions| {
        extensions.set("code", "RESYNC_REQUIRED");
        extensions.set("missed", missed);
    })
}

/// Every subscription of the API.
#[derive(Default)]
pub struct SubscriptionRoot;

/// Live events over `/graphql/ws`, only of products the subscriber may view.
#[Subscription]
impl SubscriptionRoot {
    /// SLA events (thresholds, breaches, escalations, resolutions) of findings the caller may view, as the
    /// sweep records them. Narrow by product, severities and kinds.
    async fn sla_events(
        &self,
        ctx: &Context<'_>,
        product_id: Option<ID>,
        severities: Option<Vec<Severity>>,
        kinds: Option<Vec<SlaEventKind>>,
    ) -> Result<Events<SlaEvent>> {
        let product_id = parse_opt_id(product_id.as_ref())?;
        if let Some(id) = product_id {
            Box::pin(access::product_role(&ctx.state()?.db, ctx.actor()?, id)).await?;
        }
        let severities: Option<Vec<&'static str>> = severities.map(|s| s.into_iter().map(Severity::as_str).collect());
        let kinds: Option<Vec<&'static str>> =
            kinds.map(|k| k.into_iter().map(|kind| crate::domain::SlaEventKind::from(kind).as_str()).collect());
        watch(ctx, product_id.map_or(Topic::All, Topic::Product), move |event| match event {
            LiveEvent::Sla { event, finding }
                if product_id.is_none_or(|id| id == finding.product_id)
                    && severities.as_ref().is_none_or(|s| s.contains(&finding.severity.as_str()))
                    && kinds.as_ref().is_none_or(|k| k.contains(&event.kind.as_str())) =>
            {
                Some(SlaEvent { event: event.clone(), finding: Some(Arc::clone(finding)) })
            }
            _ => None,
        })
        .await
    }

    /// The caller's new in-app alerts.
    async fn alerts(&self, ctx: &Context<'_>) -> Result<Events<Alert>> {
        let user_id = ctx.actor()?.user_id;
        watch(ctx, Topic::User(user_id), move |event| match event {
            LiveEvent::Alert(alert) if alert.user_id == user_id => Some(Alert(alert.clone())),
            _ => None,
        })
        .await
    }

    /// Findings the caller may view as they are created or change (edits, mitigation, reactivation, risk
    /// acceptance, SLA events).
    async fn finding_changed(&self, ctx: &Context<'_>, product_id: Option<ID>) -> Result<Events<Finding>> {
        let product_id = parse_opt_id(product_id.as_ref())?;
        if let Some(id) = product_id {
            Box::pin(access::product_role(&ctx.state()?.db, ctx.actor()?, id)).await?;
        }
        watch(ctx, product_id.map_or(Topic::All, Topic::Product), move |event| match event {
            LiveEvent::FindingChanged(finding) if product_id.is_none_or(|id| id == finding.product_id) => {
                Some(Finding(Arc::clone(finding)))
            }
            _ => None,
        })
        .await
    }

    /// Every delivery attempt's outcome (superusers).
    async fn deliveries(&self, ctx: &Context<'_>) -> Result<Events<Delivery>> {
        ctx.actor()?.require_superuser()?;
        watch(ctx, Topic::All, |event| match event {
            LiveEvent::Delivery(view) => Some(Delivery(view.clone())),
            _ => None,
        })
        .await
    }
}
