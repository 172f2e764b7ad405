//! Webhook endpoints (superusers): JSON or GELF, optional static auth header and HMAC secret (both
//! write-only), and DefectDojo's endpoint health states.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::WebhookId;
use crate::domain::webhook_format::WebhookFormat;
use crate::domain::webhook_health::Health;
use crate::domain::{outbound, validated};
use crate::entity::webhook;
use crate::error::{ServiceError, ServiceResult};
use crate::service::Actor;
use crate::service::settings::http_url;
use crate::state::AppState;

/// Fields of a webhook; on update `None` keeps a value, and an empty string clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub name: Option<String>,
    pub url: Option<String>,
    pub format: Option<WebhookFormat>,
    pub source: Option<String>,
    pub header_name: Option<String>,
    pub header_value: Option<String>,
    pub hmac_secret: Option<String>,
}

fn optional(text: String) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

fn apply(model: &mut webhook::ActiveModel, input: WebhookInput, deny_private: bool) -> ServiceResult<()> {
    let WebhookInput { name, url, format, source, header_name, header_value, hmac_secret } = input;
    if let Some(name) = name {
        model.name = Set(validated::name("name", &name)?);
    }
    if let Some(url) = url {
        let url = http_url("url", &url)?;
        if deny_private && outbound::names_private_host(&url) {
            return Err(ServiceError::bad_input(
                "url points at a private, loopback or link-local address, which SLAWATCH_WEBHOOK_DENY_PRIVATE refuses",
            ));
        }
        model.url = Set(url);
    }
    if let Some(format) = format {
        model.format = Set(format);
    }
    if let Some(source) = source {
        model.source = Set(validated::name("source", &source)?);
    }
    if let Some(header) = header_name {
        let header = optional(header);
        if let Some(name) = &header {
            let valid = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid || name.len() > 100 {
                return Err(ServiceError::bad_input(format!("invalid header name {name:?}")));
            }
        }
        model.header_name = Set(header);
    }
    if let Some(value) = header_value {
        if value.contains(['\r', '\n']) {
            return Err(ServiceError::bad_input("a header value must be one line"));
        }
        model.header_value = Set(optional(value));
    }
    if let Some(secret) = hmac_secret {
        model.hmac_secret = Set(optional(secret));
    }
    Ok(())
}

fn check_header_pair(model: &webhook::ActiveModel) -> ServiceResult<()> {
    let present = |value: &sea_orm::ActiveValue<Option<String>>| {
        matches!(value, sea_orm::ActiveValue::Set(Some(_)) | sea_orm::ActiveValue::Unchanged(Some(_)))
    };
    if present(&model.header_name) != present(&model.header_value) {
        return Err(ServiceError::bad_input("headerName and headerValue go together"));
    }
    Ok(())
}

async fn ensure_name_free(state: &AppState, name: &str, except: Option<WebhookId>) -> ServiceResult<()> {
    match webhook::Entity::find().filter(webhook::Column::Name.eq(name)).one(&state.db).await? {
        Some(existing) if Some(existing.id) != except => {
            Err(ServiceError::Conflict(format!("a webhook named {name:?} already exists")))
        }
        _ => Ok(()),
    }
}

pub async fn create(state: &AppState, actor: &Actor, input: WebhookInput) -> ServiceResult<webhook::Model> {
    actor.require_superuser()?;
    if input.name.is_none() || input.url.is_none() {
        return Err(ServiceError::bad_input("a webhook needs a name and a url"));
    }
    let now = state.clock.now().timestamp();
    let mut model = webhook::ActiveModel {
        format: Set(WebhookFormat::Json),
        source: Set("slawatch".to_owned()),
        status: Set(Health::Active),
        note: Set(String::new()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&mut model, input, state.config.webhook_deny_private)?;
    if let sea_orm::ActiveValue::Set(name) = &model.name {
        ensure_name_free(state, name, None).await?;
    }
    check_header_pair(&model)?;
    Ok(model.insert(&state.db).await?)
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: WebhookId,
    input: WebhookInput,
) -> ServiceResult<webhook::Model> {
    actor.require_superuser()?;
    let found = get(state, actor, id).await?;
    if let Some(name) = &input.name {
        ensure_name_free(state, name.trim(), Some(id)).await?;
    }
    let mut model: webhook::ActiveModel = found.into();
    apply(&mut model, input, state.config.webhook_deny_private)?;
    // An administrator's change is the cue to try a refused endpoint again.
    model.status = Set(Health::Active);
    model.updated_at = Set(state.clock.now().timestamp());
    check_header_pair(&model)?;
    Ok(model.update(&state.db).await?)
}

pub async fn delete(state: &AppState, actor: &Actor, id: WebhookId) -> ServiceResult<webhook::Model> {
    let found = get(state, actor, id).await?;
    webhook::Entity::delete_by_id(id).exec(&state.db).await?;
    Ok(found)
}

pub async fn get(state: &AppState, actor: &Actor, id: WebhookId) -> ServiceResult<webhook::Model> {
    actor.require_superuser()?;
    webhook::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ServiceError::not_found("webhook"))
}

pub async fn list(state: &AppState, actor: &Actor) -> ServiceResult<Vec<webhook::Model>> {
    actor.require_superuser()?;
    Ok(webhook::Entity::find().order_by_asc(webhook::Column::Name).all(&state.db).await?)
}

pub use crate::domain::outbound::redacted_url;
