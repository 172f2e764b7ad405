//! The outbox: a notification and its deliveries are written in the caller's transaction, so a change and
//! the news of it commit together or not at all. The delivery worker (`jobs::delivery`) sends them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::domain::delivery::DeliveryStatus;
use crate::domain::recipients::{
    self, Audience, Candidate, Channel, EventSetting, ProductContext, Resolution, SystemSwitches, Target,
};
use crate::domain::setting_conditions::{ConditionalSetting, DigestCadence, Subject, setting_for};
use crate::domain::{
    FindingId, NotificationEvent, NotificationId, NotificationPayload, ProductId, ProductRole, UserId,
};
use crate::entity::{delivery, notification, notification_setting, product, product_member, system_settings, user};
use crate::error::{ServiceError, ServiceResult};
use crate::security::token;
use crate::service::notification_settings::Owner;

/// Rows per multi-row INSERT (well under SQLite's and PostgreSQL's bound-parameter limits).
const INSERT_CHUNK: usize = 500;

/// A notification to publish.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub event: NotificationEvent,
    pub audience: Audience,
    pub product_id: Option<ProductId>,
    pub finding_id: Option<FindingId>,
    pub title: String,
    pub description: String,
    /// A link for the reader (site URL + path).
    pub url: Option<String>,
    /// The event's data for structured receivers (webhooks, GELF).
    pub payload: NotificationPayload,
    /// When set, a second notification with the same key is not written (exactly once by construction).
    pub dedupe_key: Option<String>,
    /// Targets besides the resolved ones (a report schedule's extra recipients), if the system enables
    /// their channel.
    pub extra_targets: Vec<(Channel, Target)>,
}

/// Where one notification goes: each (channel, target) once.
type Targets = BTreeSet<(Channel, Target)>;

/// Channels a user gets for an event when neither the event nor `other` is set for them (as DefectDojo:
/// in-app alerts).
fn default_personal() -> EventSetting {
    EventSetting { channels: BTreeSet::from([Channel::Alert]), ..EventSetting::default() }
}

/// Writes the notification and one delivery per resolved (channel, target). Returns the notification's id,
/// or `None` when the dedupe key was already used.
pub async fn publish<C: ConnectionTrait>(
    conn: &C,
    now: i64,
    new: NewNotification,
) -> ServiceResult<Option<NotificationId>> {
    let directory = Directory::load(conn, std::slice::from_ref(&new)).await?;
    Ok(publish_many(conn, now, &directory, vec![new]).await?.into_iter().next().flatten())
}

/// Writes many notifications and their deliveries with a few multi-row statements, resolving recipients
/// from `directory` (which must have been loaded for them). Returns each notification's id, in order, or
/// `None` where its dedupe key was already used.
pub async fn publish_many<C: ConnectionTrait>(
    conn: &C,
    now: i64,
    directory: &Directory,
    news: Vec<NewNotification>,
) -> ServiceResult<Vec<Option<NotificationId>>> {
    let keys: Vec<&str> = news.iter().filter_map(|n| n.dedupe_key.as_deref()).collect();
    let mut seen: HashSet<String> = HashSet::new();
    for chunk in keys.chunks(INSERT_CHUNK) {
        let rows = notification::Entity::find()
            .select_only()
            .column(notification::Column::DedupeKey)
            .filter(notification::Column::DedupeKey.is_in(chunk.iter().copied()))
            .into_tuple::<Option<String>>()
            .all(conn)
            .await?;
        seen.extend(rows.into_iter().flatten());
    }
    let mut ids: Vec<Option<NotificationId>> = vec![None; news.len()];
    let mut fresh: Vec<(usize, NewNotification)> = Vec::with_capacity(news.len());
    for (index, new) in news.into_iter().enumerate() {
        if let Some(key) = &new.dedupe_key
            && !seen.insert(key.clone())
        {
            continue;
        }
        fresh.push((index, new));
    }
    // A fan-out's recipients depend only on its event and its subject (what settings' conditions look at),
    // so a sweep's thousand breaches resolve a handful of times.
    let mut fan_out_targets: HashMap<(NotificationEvent, Subject), Targets> = HashMap::new();
    for chunk in fresh.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|(_, new)| notification::ActiveModel {
            event: Set(new.event),
            product_id: Set(new.product_id),
            finding_id: Set(new.finding_id),
            title: Set(new.title.clone()),
            description: Set(new.description.clone()),
            url: Set(new.url.clone()),
            payload: Set(new.payload.to_stored()),
            dedupe_key: Set(new.dedupe_key.clone()),
            created_at: Set(now),
            ..Default::default()
        });
        let inserted = crate::db::insert_returning_ids(conn, notification::Entity::insert_many(rows)).await?;
        if inserted.len() != chunk.len() {
            return Err(ServiceError::internal("the database did not return every inserted notification's id"));
        }
        let mut addressed: Vec<(NotificationId, Channel, Target)> = Vec::new();
        for ((index, new), id) in chunk.iter().zip(inserted) {
            ids[*index] = Some(id);
            let mut targets = match &new.audience {
                Audience::FanOut => fan_out_targets
                    .entry((new.event, directory.subject(new)))
                    .or_insert_with(|| directory.resolve(new))
                    .clone(),
                Audience::Directed(_) => directory.resolve(new),
            };
            let enabled = |(channel, _): &&(Channel, Target)| directory.system.enabled(*channel);
            targets.extend(new.extra_targets.iter().filter(enabled).cloned());
            addressed.extend(targets.into_iter().map(|(channel, target)| (id, channel, target)));
        }
        let keys = token::time_ordered_ids(addressed.len(), now).map_err(ServiceError::internal)?;
        let mut deliveries: Vec<delivery::ActiveModel> = addressed
            .into_iter()
            .zip(keys)
            .map(|((id, channel, target), key)| delivery::ActiveModel {
                notification_id: Set(id),
                channel: Set(channel),
                target: Set(target.clone()),
                delivery_key: Set(key),
                status: Set(DeliveryStatus::Pending),
                attempts: Set(0),
                next_attempt_at: Set(now),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        while !deliveries.is_empty() {
            let rest = deliveries.split_off(deliveries.len().min(INSERT_CHUNK));
            delivery::Entity::insert_many(deliveries).exec_without_returning(conn).await?;
            deliveries = rest;
        }
    }
    Ok(ids)
}

/// What recipient resolution needs about the products and users of a set of notifications, read with a
/// handful of queries whatever the number of notifications.
#[derive(Debug)]
pub struct Directory {
    system: SystemSwitches,
    products: HashMap<ProductId, product::Model>,
    members: HashMap<ProductId, BTreeMap<UserId, ProductRole>>,
    /// Active superusers, members of the products and directed users.
    users: Vec<user::Model>,
    /// owner key → event → its settings with their conditions, for the notifications' events and `other`.
    settings: HashMap<String, BTreeMap<NotificationEvent, Vec<ConditionalSetting>>>,
}

impl Directory {
    /// Loads what resolving `news` needs.
    pub async fn load<C: ConnectionTrait>(conn: &C, news: &[NewNotification]) -> ServiceResult<Self> {
        let system = system_switches(conn).await?;
        let product_ids: BTreeSet<ProductId> = news.iter().filter_map(|n| n.product_id).collect();
        let mut products = HashMap::new();
        let mut members: HashMap<ProductId, BTreeMap<UserId, ProductRole>> = HashMap::new();
        for chunk in product_ids.iter().copied().collect::<Vec<_>>().chunks(INSERT_CHUNK) {
            for row in
                product::Entity::find().filter(product::Column::Id.is_in(chunk.iter().copied())).all(conn).await?
            {
                products.insert(row.id, row);
            }
            let rows = product_member::Entity::find()
                .filter(product_member::Column::ProductId.is_in(chunk.iter().copied()))
                .all(conn)
                .await?;
            for row in rows {
                members.entry(row.product_id).or_default().insert(row.user_id, row.role);
            }
        }
        if product_ids.iter().any(|id| !products.contains_key(id)) {
            return Err(ServiceError::not_found("product"));
        }
        let mut user_ids: BTreeSet<UserId> = members.values().flat_map(|m| m.keys().copied()).collect();
        for new in news {
            if let Audience::Directed(ids) = &new.audience {
                user_ids.extend(ids.iter().copied());
            }
        }
        let mut users: Vec<user::Model> = user::Entity::find()
            .filter(user::Column::IsActive.eq(true))
            .filter(user::Column::IsSuperuser.eq(true))
            .all(conn)
            .await?;
        let superusers: HashSet<UserId> = users.iter().map(|u| u.id).collect();
        let others: Vec<UserId> = user_ids.into_iter().filter(|id| !superusers.contains(id)).collect();
        for chunk in others.chunks(INSERT_CHUNK) {
            users.extend(
                user::Entity::find()
                    .filter(user::Column::IsActive.eq(true))
                    .filter(user::Column::Id.is_in(chunk.iter().copied()))
                    .all(conn)
                    .await?,
            );
        }

        let mut owners = vec![Owner::System.key()];
        for product_id in &product_ids {
            owners.push(Owner::ProductExtra(*product_id).key());
        }
        for u in &users {
            owners.push(Owner::Personal(u.id).key());
        }
        for product_id in &product_ids {
            let product_members = members.get(product_id);
            for u in users.iter().filter(|u| u.is_superuser || product_members.is_some_and(|m| m.contains_key(&u.id))) {
                owners.push(Owner::ProductUser { product_id: *product_id, user_id: u.id }.key());
            }
        }
        let mut events: BTreeSet<&str> = news.iter().map(|n| n.event.as_str()).collect();
        events.insert(NotificationEvent::Other.as_str());
        let mut settings: HashMap<String, BTreeMap<NotificationEvent, Vec<ConditionalSetting>>> = HashMap::new();
        for chunk in owners.chunks(INSERT_CHUNK) {
            let rows = notification_setting::Entity::find()
                .filter(notification_setting::Column::OwnerKey.is_in(chunk.iter().cloned()))
                .filter(notification_setting::Column::Event.is_in(events.iter().copied()))
                .all(conn)
                .await?;
            for row in rows {
                let setting = crate::service::notification_settings::conditional_setting(&row)?;
                settings.entry(row.owner_key).or_default().entry(row.event).or_default().push(setting);
            }
        }
        Ok(Self { system, products, members, users, settings })
    }

    /// What a notification is about, as settings' conditions see it: its finding's severity, its product and
    /// the product's type, and which digest it is.
    fn subject(&self, new: &NewNotification) -> Subject {
        let product = new.product_id.and_then(|id| self.products.get(&id));
        let cadence = if new.payload.daily { DigestCadence::Daily } else { DigestCadence::PerSweep };
        Subject {
            severity: new.payload.finding.as_ref().map(|finding| finding.severity),
            product_id: new.product_id,
            product_type_id: product.map(|p| p.product_type_id),
            digest: (new.event == NotificationEvent::SlaBreachCombined).then_some(cadence),
        }
    }

    /// The (channel, target) pairs of one notification.
    fn resolve(&self, new: &NewNotification) -> Targets {
        let product = new.product_id.and_then(|id| self.products.get(&id));
        let no_members = BTreeMap::new();
        let members = product.and_then(|p| self.members.get(&p.id)).unwrap_or(&no_members);
        // What the event is about, for the settings' conditions.
        let subject = self.subject(new);
        let pick = |owner: Owner| -> Option<EventSetting> {
            self.settings.get(&owner.key()).and_then(|settings| setting_for(settings, new.event, subject))
        };
        let concerned = |u: &user::Model| match &new.audience {
            Audience::FanOut => u.is_superuser || members.contains_key(&u.id),
            Audience::Directed(ids) => ids.contains(&u.id),
        };
        let candidates: Vec<Candidate> = self
            .users
            .iter()
            .filter(|u| concerned(u))
            .map(|u| Candidate {
                user_id: u.id,
                email: u.email.clone(),
                is_superuser: u.is_superuser,
                is_active: u.is_active,
                may_view_product: u.is_superuser || members.contains_key(&u.id),
                personal: pick(Owner::Personal(u.id)).unwrap_or_else(|| {
                    if new.event.is_opt_in() { EventSetting::default() } else { default_personal() }
                }),
                product: product
                    .and_then(|p| pick(Owner::ProductUser { product_id: p.id, user_id: u.id }))
                    .unwrap_or_default(),
            })
            .collect();
        let system_setting = pick(Owner::System).unwrap_or_default();
        let product_extra = product.and_then(|p| pick(Owner::ProductExtra(p.id))).unwrap_or_default();
        recipients::resolve(&Resolution {
            event: new.event,
            audience: new.audience.clone(),
            product: product
                .map(|p| ProductContext { disable_sla_breach_notifications: p.disable_sla_breach_notifications }),
            system: &self.system,
            system_setting: &system_setting,
            product_extra: &product_extra,
            candidates: &candidates,
        })
    }
}
/// The system switches from the settings row.
pub async fn system_switches<C: ConnectionTrait>(conn: &C) -> ServiceResult<SystemSwitches> {
    let row = system_settings::Entity::find_by_id(1)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::internal("the system settings row is missing"))?;
    let trump: Vec<String> = serde_json::from_str(&row.system_level_trump).map_err(ServiceError::internal)?;
    Ok(SystemSwitches {
        enable_mail: row.enable_mail,
        enable_slack: row.enable_slack,
        enable_msteams: row.enable_msteams,
        enable_webhooks: row.enable_webhooks,
        slack_channel: row.slack_channel,
        msteams_configured: row.msteams_url.is_some(),
        enable_pager: row.enable_pager,
        pager_configured: row.pager_routing_key.is_some(),
        mail_recipients: serde_json::from_str(&row.mail_recipients).map_err(ServiceError::internal)?,
        system_level_trump: trump.iter().filter_map(|name| name.parse().ok()).collect(),
    })
}

/// The site URL, for links in messages.
pub async fn site_url<C: ConnectionTrait>(conn: &C) -> ServiceResult<String> {
    Ok(system_settings::Entity::find_by_id(1).one(conn).await?.map(|s| s.site_url).unwrap_or_default())
}
