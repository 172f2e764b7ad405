//! Users: creation (also the first-start admin), listing, updates and the current user.

use std::net::IpAddr;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::domain::UserId;
use crate::domain::validated;
use crate::entity::user;
use crate::error::{ServiceError, ServiceResult};
use crate::live::Signal;
use crate::security::{password, token};
use crate::service::page::{self, Page, PageRequest};
use crate::service::{Actor, notification_settings};
use crate::state::AppState;

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub is_superuser: bool,
    pub slack_email: Option<String>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub is_superuser: Option<bool>,
    pub is_active: Option<bool>,
    pub slack_email: Option<String>,
    /// Required to change one's own password.
    pub current_password: Option<String>,
}

/// A password long enough, hashed on a blocking thread: argon2 keeps a core busy for about 20 ms, which
/// neither the async workers nor a write turn (every other writer waiting) should spend on it.
async fn checked_password(text: String) -> ServiceResult<String> {
    if text.chars().count() < password::MIN_PASSWORD_LENGTH {
        return Err(ServiceError::bad_input(format!(
            "the password must be at least {} characters",
            password::MIN_PASSWORD_LENGTH
        )));
    }
    tokio::task::spawn_blocking(move || password::hash(&text))
        .await
        .map_err(ServiceError::internal)?
        .map_err(ServiceError::internal)
}

/// A new user's row, checked and with the password hashed (before any write's turn): what is left is to
/// insert it (`insert_new`).
async fn new_row(new: NewUser, now: i64) -> ServiceResult<(String, user::ActiveModel)> {
    let username = validated::username(&new.username)?;
    let email = validated::email(&new.email)?;
    let slack_email = new.slack_email.as_deref().map(validated::email).transpose()?;
    let password_hash = match new.password {
        Some(text) => Some(checked_password(text).await?),
        None => None,
    };
    let row = user::ActiveModel {
        display_name: Set(new.display_name.unwrap_or_else(|| username.clone())),
        username: Set(username.clone()),
        email: Set(email),
        password_hash: Set(password_hash),
        is_superuser: Set(new.is_superuser),
        is_active: Set(true),
        slack_email: Set(slack_email),
        slack_user_id: Set(None),
        created_at: Set(now),
        token_generation: Set(0),
        ..Default::default()
    };
    Ok((username, row))
}

/// Inserts a user's row from `new_row` unless `username` is taken, with the settings template copied to it.
async fn insert_new<C: ConnectionTrait>(
    conn: &C,
    (username, row): (String, user::ActiveModel),
    now: i64,
) -> ServiceResult<user::Model> {
    if user::Entity::find().filter(user::Column::Username.eq(&username)).one(conn).await?.is_some() {
        return Err(ServiceError::Conflict(format!("the username {username:?} is taken")));
    }
    let user = row.insert(conn).await?;
    notification_settings::copy_template_to(conn, user.id, now).await?;
    Ok(user)
}

/// Creates a user without an authorization check: for the CLI and first start.
pub async fn create_unchecked<C: ConnectionTrait>(conn: &C, new: NewUser, now: i64) -> ServiceResult<user::Model> {
    insert_new(conn, new_row(new, now).await?, now).await
}

/// Creates a user (superusers only). The password is hashed before the write's turn.
pub async fn create(state: &AppState, actor: &Actor, new: NewUser) -> ServiceResult<user::Model> {
    actor.require_superuser()?;
    let now = state.clock.now().timestamp();
    let row = new_row(new, now).await?;
    let txn = state.begin_write().await?;
    let user = insert_new(&txn, row, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Updates a user: superusers may change anything; users may change their own email, name, Slack email and
/// password (with their current password), but not their own privileges. A password change or a
/// deactivation ends the user's sessions; every change makes their live connections check again.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: UserId,
    changes: UserChanges,
    client: IpAddr,
) -> ServiceResult<user::Model> {
    let own = actor.user_id == id;
    if !actor.is_superuser && !own {
        return Err(ServiceError::not_found("user"));
    }
    if !actor.is_superuser && (changes.is_superuser.is_some() || changes.is_active.is_some()) {
        return Err(ServiceError::Forbidden("only a superuser may change privileges or deactivate users".to_owned()));
    }
    if own && (changes.is_superuser == Some(false) || changes.is_active == Some(false)) {
        return Err(ServiceError::bad_input("you cannot remove your own superuser status or deactivate yourself"));
    }
    let found = user::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ServiceError::not_found("user"))?;
    let UserChanges {
        email,
        display_name,
        password: new_password,
        is_superuser,
        is_active,
        slack_email,
        current_password,
    } = changes;
    if own && new_password.is_some() {
        check_current_password(state, &found, current_password.as_deref(), client).await?;
    }
    let ends_sessions = new_password.is_some() || is_active == Some(false);
    let mut model: user::ActiveModel = found.into();
    if let Some(email) = email {
        model.email = Set(validated::email(&email)?);
    }
    if let Some(name) = display_name {
        model.display_name = Set(validated::name("displayName", &name)?);
    }
    if let Some(text) = new_password {
        model.password_hash = Set(Some(checked_password(text).await?));
    }
    if let Some(flag) = is_superuser {
        model.is_superuser = Set(flag);
    }
    if let Some(flag) = is_active {
        model.is_active = Set(flag);
    }
    if let Some(address) = slack_email {
        model.slack_email = Set(if address.trim().is_empty() { None } else { Some(validated::email(&address)?) });
        model.slack_user_id = Set(None);
    }
    let txn = state.begin_write().await?;
    let updated = model.update(&txn).await?;
    if ends_sessions {
        end_sessions_of(&txn, id).await?;
    }
    txn.commit().await?;
    state.announce(vec![Signal::User { user: updated.id }]).await;
    Ok(updated)
}

/// `currentPassword` must be given and right; the check is throttled like a login from `client`.
async fn check_current_password(
    state: &AppState,
    user: &user::Model,
    given: Option<&str>,
    client: IpAddr,
) -> ServiceResult<()> {
    let Some(given) = given else {
        return Err(ServiceError::bad_input("give currentPassword to change your own password"));
    };
    let attempt = state.login_throttle.reserve(&user.username, client, state.clock.now())?;
    let stored = user.password_hash.clone();
    let given = given.to_owned();
    let right =
        state.login_throttle.check_password(move || stored.is_some_and(|phc| password::verify(&given, &phc))).await?;
    if !right {
        return Err(ServiceError::bad_input("currentPassword is not your current password"));
    }
    state.login_throttle.succeeded(&attempt);
    Ok(())
}

/// Ends every session token of the acting user (`logout`): all their JWTs stop working at once.
pub async fn end_sessions(state: &AppState, actor: &Actor) -> ServiceResult<()> {
    end_sessions_of(&state.db, actor.user_id).await?;
    state.announce(vec![Signal::User { user: actor.user_id }]).await;
    Ok(())
}

/// Moves the user's token generation on, so every session token issued before is refused. An increment in
/// SQL: two at once both count.
async fn end_sessions_of<C: ConnectionTrait>(conn: &C, user_id: UserId) -> ServiceResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::TokenGeneration, Expr::col(user::Column::TokenGeneration).add(1))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The acting user.
pub async fn me(state: &AppState, actor: &Actor) -> ServiceResult<user::Model> {
    get_unchecked(&state.db, actor.user_id).await
}

/// A user by id, for resolving references (leads, members, authors) that the caller may already see.
pub async fn get_unchecked<C: ConnectionTrait>(conn: &C, id: UserId) -> ServiceResult<user::Model> {
    user::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| ServiceError::not_found("user"))
}

/// A user by username.
pub async fn find_by_username<C: ConnectionTrait>(conn: &C, username: &str) -> ServiceResult<user::Model> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no user named {username:?}")))
}

/// All users (superusers only).
pub async fn list(state: &AppState, actor: &Actor, request: PageRequest) -> ServiceResult<Page<user::Model>> {
    actor.require_superuser()?;
    page::fetch(&state.db, user::Entity::find(), user::Column::Id, request, state.config.limits.max_page_size).await
}

/// Every user, by id (superusers only): the CLI's `user list`.
pub async fn all(state: &AppState, actor: &Actor) -> ServiceResult<Vec<user::Model>> {
    use sea_orm::QueryOrder;
    actor.require_superuser()?;
    Ok(user::Entity::find().order_by_asc(user::Column::Id).all(&state.db).await?)
}

/// On first start with no users: creates the admin, with the configured password or a random one that is
/// returned so the caller can print it once.
pub async fn ensure_first_admin(state: &AppState) -> ServiceResult<Option<(String, Option<String>)>> {
    if user::Entity::find().count(&state.db).await? > 0 {
        return Ok(None);
    }
    let (password_text, generated) = match &state.config.admin_password {
        Some(given) => (given.clone(), None),
        None => {
            let made = token::random_hex(12).map_err(ServiceError::internal)?;
            (made.clone(), Some(made))
        }
    };
    let username = state.config.admin_user.clone();
    let created = create_unchecked(
        &state.db,
        NewUser {
            username: username.clone(),
            email: format!("{username}@localhost.localdomain"),
            display_name: Some("Administrator".to_owned()),
            password: Some(password_text),
            is_superuser: true,
            slack_email: None,
        },
        state.clock.now().timestamp(),
    )
    .await;
    match created {
        Ok(_) => Ok(Some((username, generated))),
        // Another process started at the same moment created it first (the username is unique).
        Err(_) if user::Entity::find().count(&state.db).await? > 0 => Ok(None),
        Err(err) => Err(err),
    }
}

/// Users by id, in id order (for loaders).
pub async fn by_ids<C: ConnectionTrait>(conn: &C, ids: &[UserId]) -> ServiceResult<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(user::Column::Id)
        .all(conn)
        .await?)
}
