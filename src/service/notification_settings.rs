//! Notification settings at the system, personal, product and template scopes, and the template copied to
//! every new user.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::recipients::{Channel, EventSetting};
use crate::domain::setting_conditions::{Condition, ConditionalSetting, DigestCadence};
use crate::domain::{NotificationEvent, ProductId, ProductRole, ProductTypeId, Severity, UserId, WebhookId, validated};
use crate::entity::{notification_setting, webhook};
use crate::error::{ServiceError, ServiceResult};
use crate::service::{Actor, access, product_types, products, users};
use crate::state::AppState;

/// How many products and product types one condition may name (each is checked to exist).
const MAX_CONDITION_PRODUCTS: usize = 100;

/// The events the PAGER channel takes: an incident opens at a breach (or its escalation) and closes when the
/// finding's SLA is resolved.
const PAGED_EVENTS: [NotificationEvent; 3] =
    [NotificationEvent::SlaBreach, NotificationEvent::SlaBreachEscalation, NotificationEvent::SlaResolved];

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
    /// When it applies (`Condition::always()` for the event's plain setting).
    pub condition: Condition,
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
    /// The setting applies only to findings of these severities (empty: any)…
    pub severities: Vec<Severity>,
    /// …and, at the SYSTEM and TEMPLATE scopes, only to these products and products of these types (both
    /// empty: any product).
    pub product_ids: Vec<ProductId>,
    pub product_type_ids: Vec<ProductTypeId>,
    /// `SLA_BREACH_COMBINED` only: one digest a day instead of one per sweep.
    pub digest: DigestCadence,
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

/// A stored setting with its condition.
pub(crate) fn conditional_setting(row: &notification_setting::Model) -> ServiceResult<ConditionalSetting> {
    let condition = Condition {
        severities: json_list::<Severity>(&row.severities)?.into_iter().collect(),
        product_ids: json_list::<ProductId>(&row.product_ids)?.into_iter().collect(),
        product_type_ids: json_list::<ProductTypeId>(&row.product_type_ids)?.into_iter().collect(),
        daily: row.digest_daily,
    };
    Ok(ConditionalSetting { condition, setting: event_setting(row)? })
}

/// Every stored setting of one owner, by event: the plain one first, then the conditional ones by key.
pub async fn load<C: ConnectionTrait>(
    conn: &C,
    owner: Owner,
) -> ServiceResult<BTreeMap<NotificationEvent, Vec<ConditionalSetting>>> {
    let rows = notification_setting::Entity::find()
        .filter(notification_setting::Column::OwnerKey.eq(owner.key()))
        .order_by_asc(notification_setting::Column::ConditionKey)
        .all(conn)
        .await?;
    let mut settings: BTreeMap<NotificationEvent, Vec<ConditionalSetting>> = BTreeMap::new();
    for row in rows {
        settings.entry(row.event).or_default().push(conditional_setting(&row)?);
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
    let mut views = Vec::new();
    for &event in NotificationEvent::ALL {
        let settings = stored.get(&event).map_or(&[][..], Vec::as_slice);
        if settings.first().is_none_or(|first| !first.condition.is_always()) {
            let unset = ConditionalSetting::default();
            views.push(SettingView {
                owner,
                event,
                condition: unset.condition,
                setting: unset.setting,
                configured: false,
            });
        }
        views.extend(settings.iter().map(|stored| SettingView {
            owner,
            event,
            condition: stored.condition.clone(),
            setting: stored.setting.clone(),
            configured: true,
        }));
    }
    Ok(views)
}

/// The condition of a setting to store: severities anywhere, products and product types (which must exist)
/// only at the SYSTEM and TEMPLATE scopes, whose settings reach more than one product.
async fn condition_of(
    state: &AppState,
    owner: Owner,
    severities: Vec<Severity>,
    product_ids: Vec<ProductId>,
    product_type_ids: Vec<ProductTypeId>,
) -> ServiceResult<Condition> {
    let names_products = !product_ids.is_empty() || !product_type_ids.is_empty();
    if names_products && !matches!(owner, Owner::System | Owner::Template) {
        return Err(ServiceError::bad_input(
            "productIds and productTypeIds are conditions of SYSTEM and TEMPLATE settings",
        ));
    }
    if product_ids.len() + product_type_ids.len() > MAX_CONDITION_PRODUCTS {
        return Err(ServiceError::bad_input(format!(
            "a condition names at most {MAX_CONDITION_PRODUCTS} products and product types"
        )));
    }
    for &id in &product_ids {
        products::get_unchecked(&state.db, id)
            .await
            .map_err(|_| ServiceError::bad_input(format!("there is no product {id}")))?;
    }
    for &id in &product_type_ids {
        product_types::get(&state.db, id)
            .await
            .map_err(|_| ServiceError::bad_input(format!("there is no product type {id}")))?;
    }
    Ok(Condition {
        severities: severities.into_iter().collect(),
        product_ids: product_ids.into_iter().collect(),
        product_type_ids: product_type_ids.into_iter().collect(),
        daily: false,
    })
}

/// Validates and stores one event's setting for one owner (replacing what was there).
pub async fn set(state: &AppState, actor: &Actor, input: SettingInput) -> ServiceResult<SettingView> {
    let SettingInput {
        scope,
        user_id,
        product_id,
        event,
        channels,
        emails,
        slack_channels,
        webhook_ids,
        severities,
        product_ids,
        product_type_ids,
        digest,
    } = input;
    let owner = owner_for(state, actor, scope, user_id, product_id, true).await?;
    let mut condition = condition_of(state, owner, severities, product_ids, product_type_ids).await?;
    let daily_digest = digest == DigestCadence::Daily;
    if daily_digest && event != NotificationEvent::SlaBreachCombined {
        return Err(ServiceError::bad_input("digest: DAILY is a choice of SLA_BREACH_COMBINED settings only"));
    }
    condition.daily = daily_digest;
    let channels: BTreeSet<Channel> = channels.into_iter().collect();
    if owner != Owner::System && channels.contains(&Channel::MsTeams) {
        return Err(ServiceError::bad_input("Microsoft Teams notifications exist at the SYSTEM scope only"));
    }
    if channels.contains(&Channel::Pager) {
        if owner != Owner::System {
            return Err(ServiceError::bad_input("PAGER is set at the SYSTEM scope only"));
        }
        if !PAGED_EVENTS.contains(&event) {
            return Err(ServiceError::bad_input(
                "PAGER pages on SLA_BREACH and SLA_BREACH_ESCALATION and resolves on SLA_RESOLVED, not other events",
            ));
        }
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
    let stored =
        ConditionalSetting { condition, setting: EventSetting { channels, emails, slack_channels, webhook_ids } };
    // A conditional setting that sends nothing is taken away (an unconditional one stays: it says "nothing").
    let configured = stored.condition.is_always() || stored.setting != EventSetting::default();
    if configured {
        store(&state.db, owner, event, &stored, state.clock.now().timestamp()).await?;
    } else {
        remove(&state.db, owner, event, &stored.condition).await?;
    }
    let ConditionalSetting { condition, setting } = stored;
    Ok(SettingView { owner, event, condition, setting, configured })
}

/// Removes one conditional setting.
async fn remove<C: ConnectionTrait>(
    conn: &C,
    owner: Owner,
    event: NotificationEvent,
    condition: &Condition,
) -> ServiceResult<()> {
    notification_setting::Entity::delete_many()
        .filter(notification_setting::Column::OwnerKey.eq(owner.key()))
        .filter(notification_setting::Column::Event.eq(event))
        .filter(notification_setting::Column::ConditionKey.eq(condition.key()))
        .exec(conn)
        .await?;
    Ok(())
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
    stored: &ConditionalSetting,
    now: i64,
) -> ServiceResult<()> {
    let ConditionalSetting { condition, setting } = stored;
    let channel_names: Vec<&str> = setting.channels.iter().map(|c| c.as_str()).collect();
    let existing = notification_setting::Entity::find()
        .filter(notification_setting::Column::OwnerKey.eq(owner.key()))
        .filter(notification_setting::Column::Event.eq(event.as_str()))
        .filter(notification_setting::Column::ConditionKey.eq(condition.key()))
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
            severities: Set(to_json(&condition.severities)?),
            product_ids: Set(to_json(&condition.product_ids)?),
            product_type_ids: Set(to_json(&condition.product_type_ids)?),
            condition_key: Set(condition.key()),
            digest_daily: Set(condition.daily),
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
    for (event, settings) in load(conn, Owner::Template).await? {
        for setting in &settings {
            store(conn, Owner::Personal(user_id), event, setting, now).await?;
        }
    }
    Ok(())
}
