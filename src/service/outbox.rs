//! The outbox: a notification and its deliveries are written in the caller's transaction, so a change and
//! the news of it commit together or not at all. The delivery worker (`jobs::delivery`) sends them.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::recipients::{
    self, Audience, Candidate, Channel, EventSetting, ProductContext, Resolution, SystemSwitches,
};
use crate::domain::{NotificationEvent, ProductRole};
use crate::entity::{delivery, notification, notification_setting, product, product_member, system_settings, user};
use crate::error::{ServiceError, ServiceResult};
use crate::security::token;
use crate::service::notification_settings::Owner;

/// Delivery states.
pub const PENDING: &str = "PENDING";
pub const RETRYING: &str = "RETRYING";
pub const DELIVERED: &str = "DELIVERED";
pub const DEAD: &str = "DEAD";

/// A notification to publish.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub event: NotificationEvent,
    pub audience: Audience,
    pub product_id: Option<i32>,
    pub finding_id: Option<i32>,
    pub title: String,
    pub description: String,
    /// A link for the reader (site URL + path).
    pub url: Option<String>,
    /// The event's data for structured receivers (webhooks, GELF).
    pub payload: serde_json::Value,
    /// When set, a second notification with the same key is not written (exactly once by construction).
    pub dedupe_key: Option<String>,
}

/// Channels a user gets for an event when neither the event nor `other` is set for them (as DefectDojo:
/// in-app alerts).
fn default_personal() -> EventSetting {
    EventSetting { channels: BTreeSet::from([Channel::Alert]), ..EventSetting::default() }
}

/// Writes the notification and one delivery per resolved (channel, target). Returns `None` when the
/// dedupe key was already used.
pub async fn publish<C: ConnectionTrait>(
    conn: &C,
    now: i64,
    new: NewNotification,
) -> ServiceResult<Option<notification::Model>> {
    if let Some(key) = &new.dedupe_key {
        let seen =
            notification::Entity::find().filter(notification::Column::DedupeKey.eq(key.as_str())).one(conn).await?;
        if seen.is_some() {
            return Ok(None);
        }
    }
    let targets = resolve_targets(conn, &new).await?;
    let created = notification::ActiveModel {
        event: Set(new.event.as_str().to_owned()),
        product_id: Set(new.product_id),
        finding_id: Set(new.finding_id),
        title: Set(new.title),
        description: Set(new.description),
        url: Set(new.url),
        payload: Set(new.payload.to_string()),
        dedupe_key: Set(new.dedupe_key),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let mut rows = Vec::with_capacity(targets.len());
    for (channel, target) in targets {
        rows.push(delivery::ActiveModel {
            notification_id: Set(created.id),
            channel: Set(channel.as_str().to_owned()),
            target: Set(target.to_string()),
            delivery_key: Set(token::random_hex(16).map_err(ServiceError::internal)?),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    if !rows.is_empty() {
        delivery::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(Some(created))
}

/// Gathers what `domain::recipients::resolve` needs, in a handful of queries, and resolves.
async fn resolve_targets<C: ConnectionTrait>(
    conn: &C,
    new: &NewNotification,
) -> ServiceResult<BTreeSet<(Channel, recipients::Target)>> {
    let system = system_switches(conn).await?;
    let product = match new.product_id {
        Some(id) => {
            Some(product::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| ServiceError::not_found("product"))?)
        }
        None => None,
    };
    let members: BTreeMap<i32, ProductRole> = match new.product_id {
        Some(id) => product_member::Entity::find()
            .filter(product_member::Column::ProductId.eq(id))
            .all(conn)
            .await?
            .into_iter()
            .filter_map(|m| m.role.parse().ok().map(|role| (m.user_id, role)))
            .collect(),
        None => BTreeMap::new(),
    };
    let mut users_query = user::Entity::find().filter(user::Column::IsActive.eq(true));
    users_query = match &new.audience {
        Audience::FanOut => users_query.filter(
            sea_orm::Condition::any()
                .add(user::Column::IsSuperuser.eq(true))
                .add(user::Column::Id.is_in(members.keys().copied())),
        ),
        Audience::Directed(ids) => users_query.filter(user::Column::Id.is_in(ids.iter().copied())),
    };
    let users = users_query.all(conn).await?;

    let mut owners = vec![Owner::System.key()];
    if let Some(product) = &product {
        owners.push(Owner::ProductExtra(product.id).key());
    }
    for u in &users {
        owners.push(Owner::Personal(u.id).key());
        if let Some(product) = &product {
            owners.push(Owner::ProductUser { product_id: product.id, user_id: u.id }.key());
        }
    }
    let mut by_owner: BTreeMap<String, BTreeMap<NotificationEvent, EventSetting>> = BTreeMap::new();
    let rows = notification_setting::Entity::find()
        .filter(notification_setting::Column::OwnerKey.is_in(owners))
        .filter(notification_setting::Column::Event.is_in([new.event.as_str(), NotificationEvent::Other.as_str()]))
        .all(conn)
        .await?;
    for row in rows {
        let event = row.event.parse().map_err(ServiceError::internal)?;
        let setting = crate::service::notification_settings::event_setting(&row)?;
        by_owner.entry(row.owner_key).or_default().insert(event, setting);
    }
    let pick = |owner: Owner| -> Option<EventSetting> {
        by_owner.get(&owner.key()).and_then(|settings| recipients::setting_for(settings, new.event)).cloned()
    };
    let candidates: Vec<Candidate> = users
        .iter()
        .map(|u| Candidate {
            user_id: u.id,
            email: u.email.clone(),
            is_superuser: u.is_superuser,
            is_active: u.is_active,
            may_view_product: u.is_superuser || members.contains_key(&u.id),
            personal: pick(Owner::Personal(u.id)).unwrap_or_else(default_personal),
            product: product
                .as_ref()
                .and_then(|p| pick(Owner::ProductUser { product_id: p.id, user_id: u.id }))
                .unwrap_or_default(),
        })
        .collect();
    let system_setting = pick(Owner::System).unwrap_or_default();
    let product_extra = product.as_ref().and_then(|p| pick(Owner::ProductExtra(p.id))).unwrap_or_default();
    Ok(recipients::resolve(&Resolution {
        event: new.event,
        audience: new.audience.clone(),
        product: product
            .as_ref()
            .map(|p| ProductContext { disable_sla_breach_notifications: p.disable_sla_breach_notifications }),
        system: &system,
        system_setting: &system_setting,
        product_extra: &product_extra,
        candidates: &candidates,
    }))
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
        mail_recipients: serde_json::from_str(&row.mail_recipients).map_err(ServiceError::internal)?,
        system_level_trump: trump.iter().filter_map(|name| name.parse().ok()).collect(),
    })
}

/// The site URL, for links in messages.
pub async fn site_url<C: ConnectionTrait>(conn: &C) -> ServiceResult<String> {
    Ok(system_settings::Entity::find_by_id(1).one(conn).await?.map(|s| s.site_url).unwrap_or_default())
}
