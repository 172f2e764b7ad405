//! The `slawatch` binary: parse the command line, load configuration, set up logging, run a command.

use std::process::ExitCode;

use clap::Parser;
use slawatch::cli::{Cli, Command, ReportArgs, ServeArgs, TokenCommand, UserCommand};
use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::service::{demo, tokens, users};
use slawatch::startup::{self, Application, StartupError};
use slawatch::{graphql, security};

/// mimalloc instead of the system allocator: a page of 100 findings is mostly small allocations (a third
/// of its cost with glibc's, whose arenas the request threads contend for).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("slawatch: {err}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(config.log_filter.as_deref().unwrap_or("info"))
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("slawatch: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), StartupError> {
    match command {
        Command::Serve(args) => serve(args, config).await,
        Command::Migrate => {
            startup::prepare_state(config, Clock::system()).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Demo => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            users::ensure_first_admin(&state).await?;
            report_demo(&demo::load(&state).await?);
            Ok(())
        }
        Command::User(UserCommand::Create { username, email, superuser, password }) => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            let (password, generated) = match password {
                Some(given) => (given, false),
                None => (security::token::random_hex(12).map_err(|e| StartupError::Service(e.to_string()))?, true),
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
            Ok(())
        }
        Command::Token(TokenCommand::Create { username, name }) => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            let user = users::find_by_username(&state.db, &username).await?;
            let created = tokens::create_unchecked(&state.db, user.id, &name, state.clock.now().timestamp()).await?;
            println!("{}", created.secret);
            Ok(())
        }
        Command::Report(args) => report(args, config).await,
    }
}

/// `slawatch report`: the compliance report as a file, computed as a superuser over the database.
async fn report(args: ReportArgs, config: Config) -> Result<(), StartupError> {
    use slawatch::report::{Format, ReportView};
    use slawatch::service::{Actor, compliance, products};
    let format = Format::parse(&args.format)
        .ok_or_else(|| StartupError::Service(format!("unknown format {:?}: use pdf, csv or json", args.format)))?;
    let state = startup::prepare_state(config, Clock::system()).await?;
    let actor = Actor { user_id: 0, username: "slawatch-cli".to_owned(), is_superuser: true };
    let product_id = match &args.product {
        Some(name) => Some(products::get_by_name(&state, &actor, name).await?.id),
        None => None,
    };
    let period = compliance::period_of(args.from, args.to, args.quarter.as_deref(), state.clock.now())?;
    eprintln!("computing the SLA compliance report…");
    let computed = compliance::compliance(&state, &actor, &compliance::ReportScope { product_id, period }).await?;
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
            slawatch::report::rate_text(view.compliance_rate),
            if view.passed { "targets met" } else { "targets missed" }
        );
    }
    Ok(())
}

async fn serve(args: ServeArgs, mut config: Config) -> Result<(), StartupError> {
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if args.no_scheduler {
        config.scheduler_enabled = false;
        tracing::info!("scheduler disabled on this instance (--no-scheduler)");
    }
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let state = startup::prepare_state(config, Clock::system()).await?;
    let app = Application::from_state(state, listener).await?;
    if args.demo {
        report_demo(&demo::load(app.state()).await?);
    }
    let address = app.address()?;
    eprintln!("slawatch listening on http://{address} (GraphQL: http://{address}/graphql)");
    app.run_until(startup::shutdown_signal()).await?;
    Ok(())
}

fn report_demo(summary: &demo::DemoSummary) {
    if summary.already_loaded {
        eprintln!("Demo data already loaded.");
    } else {
        eprintln!("Loaded the demo scenario: {} findings.", summary.findings);
    }
    eprintln!("Demo users (password {:?}):", demo::DEMO_PASSWORD);
    for (username, role) in &summary.users {
        eprintln!("  {username:8} {role}");
    }
}
