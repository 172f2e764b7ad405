//! Notification settings at the system, personal, product and template scopes, and the template copied to
//! every new user.

use crate::domain::{ProductId, UserId, WebhookId};
use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::recipients::{Channel, EventSetting};
use crate::domain::{NotificationEvent, ProductRole, validated};
use crate::entity::{notification_setting, webhook};
use crate::error::{ServiceError, ServiceResult};
use crate::service::{Actor, access, users};
use crate::state::AppState;

/// The four scopes, as DefectDojo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    System,
    Personal,
    Product,
    Template,
}

/// Whose settings a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    System,
    Template,
    Personal(UserId),
    /// A user's settings for one product.
    ProductUser {
        product_id: ProductId,
        user_id: UserId,
    },
    /// A product's extra recipients, managed by its owners.
    ProductExtra(ProductId),
}

impl Owner {
    /// The unique key stored with each row.
    #[must_use]
    pub fn key(self) -> String {
        match self {
            Self::System => "system".to_owned(),
            Self::Template => "template".to_owned(),
            Self::Personal(user) => format!("personal:{user}"),
            Self::ProductUser { product_id, user_id } => format!("product:{product_id}:{user_id}"),
            Self::ProductExtra(product) => format!("product:{product}:extra"),
        }
    }

    #[must_use]
    pub fn scope(self) -> Scope {
        match self {
            Self::System => Scope::System,
            Self::Template => Scope::Template,
            Self::Personal(_) => Scope::Personal,
            Self::ProductUser { .. } | Self::ProductExtra(_) => Scope::Product,
        }
    }

    fn scope_name(self) -> &'static str {
        match self.scope() {
            Scope::System => "SYSTEM",
            Scope::Personal => "PERSONAL",
            Scope::Product => "PRODUCT",
            Scope::Template => "TEMPLATE",
        }
    }

    #[must_use]
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Self::Personal(user) | Self::ProductUser { user_id: user, .. } => Some(user),
            _ => None,
        }
    }

    #[must_use]
    pub fn product_id(self) -> Option<ProductId> {
        match self {
            Self::ProductUser { product_id, .. } | Self::ProductExtra(product_id) => Some(product_id),
            _ => None,
        }
    }

    /// System and product extra-recipient settings name extra targets; a user's settings do not.
    fn takes_extra_targets(self) -> bool {
        matches!(self, Self::System | Self::ProductExtra(_))
    }
}

/// One event's setting in one scope.
#[derive(Debug, Clone)]
pub struct SettingView {
    pub owner: Owner,
    pub event: NotificationEvent,
    pub setting: EventSetting,
    /// False when nothing is stored for this event (the `other` setting, or the defaults, apply).
    pub configured: bool,
}

/// A setting to store.
#[derive(Debug, Clone)]
pub struct SettingInput {
    pub scope: Scope,
    pub user_id: Option<UserId>,
    pub product_id: Option<ProductId>,
    pub event: NotificationEvent,
    pub channels: Vec<Channel>,
    pub emails: Vec<String>,
    pub slack_channels: Vec<String>,
    pub webhook_ids: Vec<WebhookId>,
}

/// Whose settings `(scope, user, product)` designates, and whether the actor may read (or write) them.
pub async fn owner_for(
    state: &AppState,
    actor: &Actor,
    scope: Scope,
    user_id: Option<UserId>,
    product_id: Option<ProductId>,
    for_write: bool,
) -> ServiceResult<Owner> {
    let no_product = |owner: Owner| {
        if product_id.is_some() {
            Err(ServiceError::bad_input("productId is only for the PRODUCT scope"))
        } else {
            Ok(owner)
        }
    };
    match scope {
        Scope::System | Scope::Template => {
            actor.require_superuser()?;
            if user_id.is_some() {
                return Err(ServiceError::bad_input("userId is only for the PERSONAL and PRODUCT scopes"));
            }
            no_product(if scope == Scope::System { Owner::System } else { Owner::Template })
        }
        Scope::Personal => no_product(Owner::Personal(self_or_superuser(state, actor, user_id).await?)),
        Scope::Product => {
            let product_id = product_id.ok_or_else(|| ServiceError::bad_input("the PRODUCT scope needs productId"))?;
            match user_id {
                Some(_) => {
                    let user = self_or_superuser(state, actor, user_id).await?;
                    access::product_role(&state.db, actor, product_id).await?;
                    Ok(Owner::ProductUser { product_id, user_id: user })
                }
                None => {
                    let required = if for_write { ProductRole::Owner } else { ProductRole::Reader };
                    access::require_role(&state.db, actor, product_id, required).await?;
                    Ok(Owner::ProductExtra(product_id))
                }
            }
        }
    }
}

async fn self_or_superuser(state: &AppState, actor: &Actor, user_id: Option<UserId>) -> ServiceResult<UserId> {
    let user = user_id.unwrap_or(actor.user_id);
    if user != actor.user_id && !actor.is_superuser {
        return Err(ServiceError::not_found("user"));
    }
    users::get_unchecked(&state.db, user).await?;
    Ok(user)
}

fn json_list<T: serde::de::DeserializeOwned>(text: &str) -> ServiceResult<Vec<T>> {
    serde_json::from_str(text).map_err(ServiceError::internal)
}

fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<String> {
    serde_json::to_string(value).map_err(ServiceError::internal)
}

pub(crate) fn event_setting(row: &notification_setting::Model) -> ServiceResult<EventSetting> {
    let names: Vec<String> = json_list(&row.channels)?;
    let channels = names
        .iter()
        .map(|n| n.parse::<Channel>())
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(ServiceError::internal)?;
    Ok(EventSetting {
        channels,
        emails: json_list(&row.emails)?,
        slack_channels: json_list(&row.slack_channels)?,
        webhook_ids: json_list(&row.webhook_ids)?,
    })
}

/// Every stored setting of one owner, by event.
pub async fn load<C: ConnectionTrait>(
    conn: &C,
    owner: Owner,
) -> ServiceResult<BTreeMap<NotificationEvent, EventSetting>> {
    let rows = notification_setting::Entity::find()
        .filter(notification_setting::Column::OwnerKey.eq(owner.key()))
        .all(conn)
        .await?;
    let mut settings = BTreeMap::new();
    for row in rows {
        settings.insert(row.event, event_setting(&row)?);
    }
    Ok(settings)
}

/// The settings of one owner for every event (unset events included, marked as not configured).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    scope: Scope,
    user_id: Option<UserId>,
    product_id: Option<ProductId>,
) -> ServiceResult<Vec<SettingView>> {
    let owner = owner_for(state, actor, scope, user_id, product_id, false).await?;
    let stored = load(&state.db, owner).await?;
    Ok(NotificationEvent::ALL
        .iter()
        .map(|&event| SettingView {
            owner,
            event,
            setting: stored.get(&event).cloned().unwrap_or_default(),
            configured: stored.contains_key(&event),
        })
        .collect())
}

/// Validates and stores one event's setting for one owner (replacing what was there).
pub async fn set(state: &AppState, actor: &Actor, input: SettingInput) -> ServiceResult<SettingView> {
    let SettingInput { scope, user_id, product_id, event, channels, emails, slack_channels, webhook_ids } = input;
    let owner = owner_for(state, actor, scope, user_id, product_id, true).await?;
    let channels: BTreeSet<Channel> = channels.into_iter().collect();
    if owner != Owner::System && channels.contains(&Channel::MsTeams) {
        return Err(ServiceError::bad_input("Microsoft Teams notifications exist at the SYSTEM scope only"));
    }
    if !owner.takes_extra_targets() {
        if channels.contains(&Channel::Webhook) {
            return Err(ServiceError::bad_input("webhooks are set at the SYSTEM scope or as product extra recipients"));
        }
        if !emails.is_empty() || !slack_channels.is_empty() || !webhook_ids.is_empty() {
            return Err(ServiceError::bad_input(
                "extra emails, Slack channels and webhooks are set at the SYSTEM scope or as product extra recipients",
            ));
        }
    }
    let emails = emails.iter().map(|e| validated::email(e).map(|v| v.to_lowercase())).collect::<Result<Vec<_>, _>>()?;
    let slack_channels = slack_channels.iter().map(|c| slack_channel(c)).collect::<ServiceResult<Vec<_>>>()?;
    for &id in &webhook_ids {
        if webhook::Entity::find_by_id(id).one(&state.db).await?.is_none() {
            return Err(ServiceError::bad_input(format!("there is no webhook {id}")));
        }
    }
    let setting = EventSetting { channels, emails, slack_channels, webhook_ids };
    store(&state.db, owner, event, &setting, state.clock.now().timestamp()).await?;
    Ok(SettingView { owner, event, setting, configured: true })
}

fn slack_channel(name: &str) -> ServiceResult<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.len() > 80 || trimmed.contains(char::is_whitespace) {
        return Err(ServiceError::bad_input(format!("invalid Slack channel {name:?}")));
    }
    Ok(trimmed.to_owned())
}

/// Inserts or replaces one row.
async fn store<C: ConnectionTrait>(
    conn: &C,
    owner: Owner,
    event: NotificationEvent,
    setting: &EventSetting,
    now: i64,
) -> ServiceResult<()> {
    let channel_names: Vec<&str> = setting.channels.iter().map(|c| c.as_str()).collect();
    let existing = notification_setting::Entity::find()
        .filter(notification_setting::Column::OwnerKey.eq(owner.key()))
        .filter(notification_setting::Column::Event.eq(event.as_str()))
        .one(conn)
        .await?;
    let mut model = match existing {
        Some(row) => row.into(),
        None => notification_setting::ActiveModel {
            scope: Set(owner.scope_name().to_owned()),
            user_id: Set(owner.user_id()),
            product_id: Set(owner.product_id()),
            owner_key: Set(owner.key()),
            event: Set(event),
            ..Default::default()
        },
    };
    model.channels = Set(to_json(&channel_names)?);
    model.emails = Set(to_json(&setting.emails)?);
    model.slack_channels = Set(to_json(&setting.slack_channels)?);
    model.webhook_ids = Set(to_json(&setting.webhook_ids)?);
    model.updated_at = Set(now);
    model.save(conn).await?;
    Ok(())
}

/// Gives a new user a copy of the template's settings.
pub async fn copy_template_to<C: ConnectionTrait>(conn: &C, user_id: UserId, now: i64) -> ServiceResult<()> {
    for (event, setting) in load(conn, Owner::Template).await? {
        store(conn, Owner::Personal(user_id), event, &setting, now).await?;
    }
    Ok(())
}
