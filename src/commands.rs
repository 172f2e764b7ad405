//! The command line's administration commands (`user`, `token`, `report`): what each does to the database
//! and prints. They act as a superuser: whoever can run them can read the database anyway. Messages name the
//! command's flags, not the API's fields.

use std::net::{IpAddr, Ipv4Addr};

use chrono::DateTime;

use crate::cli::{ImportArgs, ReportArgs, SyncArgs, TokenCommand, UserCommand};
use crate::domain::{ApiTokenId, UserId};
use crate::error::ServiceError;
use crate::report::{Format, ReportView};
use crate::service::{Actor, compliance, products, tokens, users};
use crate::startup::StartupError;
use crate::state::AppState;

/// Who the commands act as.
fn command_line() -> Actor {
    Actor::system("slawatch-cli")
}

/// A CLI run is a local administrator, not a client address to throttle.
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn day(epoch_seconds: i64) -> String {
    DateTime::from_timestamp(epoch_seconds, 0)
        .map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

fn random_password() -> Result<String, StartupError> {
    crate::security::token::random_hex(12).map_err(|e| StartupError::Service(e.to_string()))
}

async fn user_named(state: &AppState, username: &str) -> Result<crate::entity::user::Model, StartupError> {
    users::find_by_username(&state.db, username).await.map_err(|_| {
        StartupError::Service(format!("no user named {username:?} (--username; see `slawatch user list`)"))
    })
}

/// `slawatch user …`.
pub async fn user(state: &AppState, command: UserCommand) -> Result<(), StartupError> {
    match command {
        UserCommand::Create { username, email, superuser, password } => {
            let (password, generated) = match password {
                Some(given) => (given, false),
                None => (random_password()?, true),
            };
            let new = users::NewUser {
                username,
                email,
                password: Some(password.clone()),
                is_superuser: superuser,
                ..users::NewUser::default()
            };
            let user = users::create_unchecked(&state.db, new, state.clock.now().timestamp()).await?;
            println!("created user {} (id {})", user.username, user.id);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            println!("{:>5}  {:20} {:32} {:9} active", "id", "username", "email", "superuser");
            for user in users::all(state, &command_line()).await? {
                println!(
                    "{:>5}  {:20} {:32} {:9} {}",
                    user.id,
                    user.username,
                    user.email,
                    if user.is_superuser { "yes" } else { "no" },
                    if user.is_active { "yes" } else { "no" }
                );
            }
        }
        UserCommand::Disable { username } => {
            let found = user_named(state, &username).await?;
            let changes = users::UserChanges { is_active: Some(false), ..users::UserChanges::default() };
            users::update(state, &command_line(), found.id, changes, LOCAL).await?;
            println!("disabled {username}: signed out everywhere, API tokens refused");
        }
        UserCommand::SetPassword { username, password } => {
            let found = user_named(state, &username).await?;
            let (password, generated) = match password {
                Some(given) => (given, false),
                None => (random_password()?, true),
            };
            let changes = users::UserChanges { password: Some(password.clone()), ..users::UserChanges::default() };
            users::update(state, &command_line(), found.id, changes, LOCAL)
                .await
                .map_err(|err| StartupError::Service(format!("--password: {}", message(&err))))?;
            println!("set the password of {username}; their sessions have ended");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

/// `slawatch token …`.
pub async fn token(state: &AppState, command: TokenCommand) -> Result<(), StartupError> {
    match command {
        TokenCommand::Create { username, name } => {
            let user = user_named(state, &username).await?;
            let created = tokens::create_unchecked(&state.db, user.id, &name, state.clock.now().timestamp()).await?;
            println!("{}", created.secret);
        }
        TokenCommand::List { username } => {
            let user = match &username {
                Some(name) => Some(user_named(state, name).await?),
                None => None,
            };
            let tokens = tokens::list_all(state, &command_line(), user.map(|u| u.id)).await?;
            let owners: Vec<UserId> = tokens.iter().map(|t| t.user_id).collect();
            let names: std::collections::HashMap<UserId, String> =
                users::by_ids(&state.db, &owners).await?.into_iter().map(|u| (u.id, u.username)).collect();
            println!(
                "{:>5}  {:16} {:16} {:10} {:16} {:16} revoked",
                "id", "user", "name", "prefix", "created", "last used"
            );
            for token in tokens {
                println!(
                    "{:>5}  {:16} {:16} {:10} {:16} {:16} {}",
                    token.id,
                    names.get(&token.user_id).map_or("?", String::as_str),
                    token.name,
                    token.token_prefix,
                    day(token.created_at),
                    token.last_used_at.map_or_else(|| "never".to_owned(), day),
                    token.revoked_at.map_or_else(|| "no".to_owned(), day)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let revoked = tokens::revoke(state, &command_line(), ApiTokenId::new(id)).await.map_err(|_| {
                StartupError::Service(format!("no API token with --id {id} (see `slawatch token list`)"))
            })?;
            println!("revoked API token {} ({:?})", revoked.id, revoked.name);
        }
    }
    Ok(())
}

/// A service error as a CLI user reads it: the message alone, with the API's field names as the flags.
fn message(err: &ServiceError) -> String {
    let text = err.public_message();
    [("`quarter`", "--quarter"), ("`from`", "--from"), ("`to`", "--to")]
        .iter()
        .fold(text, |text, (field, flag)| text.replace(field, flag))
}

/// `slawatch report`: the compliance report as a file, computed as a superuser over the database.
pub async fn report(state: &AppState, args: ReportArgs) -> Result<(), StartupError> {
    let format = Format::parse_any_case(&args.format).ok_or_else(|| {
        StartupError::Service(format!("--format {:?} is not a format: use pdf, csv or json", args.format))
    })?;
    let actor = command_line();
    let product_id = match &args.product {
        Some(name) => Some(
            products::get_by_name(state, &actor, name)
                .await
                .map_err(|_| {
                    StartupError::Service(format!("no product named {name:?} (--product takes a product's exact name)"))
                })?
                .id,
        ),
        None => None,
    };
    let period = compliance::period_of(args.from, args.to, args.quarter.as_deref(), state.clock.now())
        .map_err(|err| StartupError::Service(message(&err)))?;
    eprintln!("computing the SLA compliance report…");
    let computed = compliance::compliance(state, &actor, &compliance::ReportScope { product_id, period }).await?;
    let view = ReportView::new(&computed, state.clock.now());
    let bytes = view.render(format).map_err(|e| StartupError::Service(e.to_string()))?;
    let output = args.output.unwrap_or_else(|| view.file_name(format).into());
    if output.as_os_str() == "-" {
        use std::io::Write as _;
        std::io::stdout().write_all(&bytes)?;
    } else {
        std::fs::write(&output, &bytes)?;
        eprintln!(
            "wrote {} ({} to {}, compliance {}, {})",
            output.display(),
            view.from,
            view.to,
            crate::report::rate_text(view.compliance_rate),
            if view.passed { "targets met" } else { "targets missed" }
        );
    }
    Ok(())
}

/// `slawatch import`: a scanner report into a product, as a superuser, printing what changed (with a progress
/// bar on a terminal while a large file is read).
pub async fn import(state: &AppState, args: ImportArgs) -> Result<(), StartupError> {
    use crate::service::scan_context::ImportTarget;
    use crate::service::scan_import::{self, ImportRequest};
    let file = std::fs::File::open(&args.file)
        .map_err(|err| StartupError::Service(format!("cannot read FILE {}: {err}", args.file.display())))?;
    let size = file.metadata().map_or(0, |m| m.len());
    eprintln!("importing {} ({size} bytes) into {:?}…", args.file.display(), args.product);
    let tags = crate::domain::tags::Tags::given(args.tags.iter().map(String::as_str))
        .map_err(|err| StartupError::Service(format!("--tag: {err}")))?;
    let request = ImportRequest {
        scan_type: args.scan_type,
        file,
        target: ImportTarget::Named {
            product_name: args.product.clone(),
            engagement_name: args.engagement.clone(),
            product_type_name: args.product_type.clone(),
            auto_create_context: args.auto_create,
        },
        scan_date: args.scan_date,
        minimum_severity: args.minimum_severity,
        active: None,
        verified: None,
        close_old_findings: None,
        test_title: None,
        tags,
        bytes_read: std::sync::Arc::default(),
    };
    let progress = crate::cli_progress::ReadProgress::show(size, request.bytes_read.clone());
    let actor = command_line();
    let outcome = if args.reimport {
        scan_import::reimport(state, &actor, request).await
    } else {
        scan_import::import(state, &actor, request).await
    };
    progress.finish();
    let outcome = outcome.map_err(|err| {
        let text = err.public_message().replace("auto_create_context", "--auto-create");
        StartupError::Service(text)
    })?;
    let changed = outcome.statistics;
    println!(
        "test {}: {} created, {} closed, {} reactivated, {} untouched",
        outcome.test.id, changed.created, changed.closed, changed.reactivated, changed.untouched
    );
    Ok(())
}

/// `slawatch sync defectdojo`: every source (or `--source`) now, with a progress bar on a terminal, a
/// summary line per source; a failed source names why and makes the command fail.
pub async fn sync_defectdojo(state: &AppState, args: SyncArgs) -> Result<(), StartupError> {
    use crate::service::{defectdojo_sources, defectdojo_sync};
    let failed = |err: ServiceError| StartupError::Service(err.public_message());
    defectdojo_sources::ensure_configured(state).await.map_err(failed)?;
    let actor = command_line();
    let sources = defectdojo_sources::list(state, &actor).await.map_err(failed)?;
    let chosen: Vec<_> = sources.into_iter().filter(|s| args.source.is_none_or(|id| s.id.get() == id)).collect();
    if chosen.is_empty() {
        return Err(StartupError::Service(match args.source {
            Some(id) => format!("--source {id}: there is no DefectDojo source of that id"),
            None => "no DefectDojo source: set SLAWATCH_DEFECTDOJO_URL and SLAWATCH_DEFECTDOJO_TOKEN, or add one \
                     with the createDefectDojoSource mutation"
                .to_owned(),
        }));
    }
    let mut failures = Vec::new();
    for source in chosen {
        eprintln!("syncing DefectDojo at {}…", source.url);
        let bar = crate::cli_progress::CountProgress::show("findings");
        let outcome = defectdojo_sync::run(state, &actor, source.id, &|done, total| bar.set(done, total)).await;
        bar.finish();
        match outcome {
            Ok(report) => {
                let f = report.findings;
                println!(
                    "source {} ({}): {} created, {} updated, {} unchanged, {} closed, {} anomalies, {} skipped",
                    source.id, source.url, f.created, f.updated, f.unchanged, report.closed, f.anomalies, f.skipped
                );
            }
            Err(err) => failures.push(format!("source {} ({}): {}", source.id, source.url, err.public_message())),
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(StartupError::Service(failures.join("; "))) }
}
