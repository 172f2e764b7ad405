//! The `slawatch` binary: parse the command line, load configuration, set up logging, run a command.

use std::process::ExitCode;

use clap::Parser;
use slawatch::cli::{Cli, Command, ServeArgs};
use slawatch::clock::Clock;
use slawatch::config::Config;
use slawatch::service::{demo, users};
use slawatch::startup::{self, Application, StartupError};
use slawatch::{commands, graphql};

/// mimalloc instead of the system allocator: a page of 100 findings is mostly small allocations (a third
/// of its cost with glibc's, whose arenas the request threads contend for). Built without transparent huge
/// pages (`no_thp`): a 2 MiB page it asks for counts whole in the resident size however little of it is in
/// use (one idle server held 38 MiB of them; BENCHMARKS.md, "Memory").
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
            tracing_subscriber::EnvFilter::try_new(
                config.log_filter.as_deref().unwrap_or(default_log_filter(&cli.command)),
            )
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

/// The server logs what it does; a one-off command prints its own result, and logs only trouble.
fn default_log_filter(command: &Command) -> &'static str {
    match command {
        Command::Serve(_) => "info",
        _ => "warn",
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
        Command::User(command) => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            commands::user(&state, command).await
        }
        Command::Token(command) => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            commands::token(&state, command).await
        }
        Command::Report(args) => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            commands::report(&state, args).await
        }
        Command::Sync(slawatch::cli::SyncCommand::Defectdojo(args)) => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            commands::sync_defectdojo(&state, args).await
        }
        Command::Import(args) => {
            let state = startup::prepare_state(config, Clock::system()).await?;
            commands::import(&state, args).await
        }
    }
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
