//! Command-line interface: the commands and flags admin scripts rely on (SPEC §9).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// slawatch: SLA deadlines of security findings, and the notifications around them.
#[derive(Debug, Parser)]
#[command(name = "slawatch", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (GraphQL at /graphql).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Load the runbook's demo scenario into the database.
    Demo,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write the SLA compliance report of a period to a file (PDF, CSV or JSON), offline.
    Report(ReportArgs),
    /// Import a scanner report into a product's engagement, as DefectDojo's import-scan (or reimport-scan).
    Import(ImportArgs),
    /// Sync with another system now, as the scheduler does every interval.
    #[command(subcommand)]
    Sync(SyncCommand),
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Pull DefectDojo's SLA configurations, products, engagements and findings now (every source, or the one
    /// of `--source`); `SLAWATCH_DEFECTDOJO_URL` and `_TOKEN` add theirs first.
    Defectdojo(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The id of the source to sync (see `defectDojoSources`); default every source.
    #[arg(long)]
    pub source: Option<i32>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The report's format: `SARIF`, `Trivy Scan`, `Generic Findings Import` or `ZAP Scan`.
    #[arg(long, value_parser = scan_type_arg)]
    pub scan_type: crate::domain::scan_type::ScanType,
    /// The product's exact name.
    #[arg(long)]
    pub product: String,
    /// The engagement's name (default `Imports`).
    #[arg(long)]
    pub engagement: Option<String>,
    /// The product type, to create a missing product with `--auto-create`.
    #[arg(long)]
    pub product_type: Option<String>,
    /// Create the product, its type and the engagement when missing.
    #[arg(long)]
    pub auto_create: bool,
    /// The scan's date (YYYY-MM-DD, default today): the new findings' `date`.
    #[arg(long)]
    pub scan_date: Option<chrono::NaiveDate>,
    /// Re-import into the engagement's latest test of this scan type: unchanged findings keep their date,
    /// missing ones are mitigated, returning ones reactivated.
    #[arg(long)]
    pub reimport: bool,
    /// Leave out findings below this severity.
    #[arg(long, default_value = "Info", value_parser = severity_arg)]
    pub minimum_severity: crate::domain::Severity,
    /// Tags for the test, comma-separated or repeated (a re-import without any keeps the test's).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// The report file.
    pub file: std::path::PathBuf,
}

fn scan_type_arg(text: &str) -> Result<crate::domain::scan_type::ScanType, String> {
    use crate::domain::scan_type::ScanType;
    text.parse().map_err(|_| format!("{text:?} is not one of: {}", ScanType::names()))
}

fn severity_arg(text: &str) -> Result<crate::domain::Severity, String> {
    text.parse().map_err(|_| format!("{text:?} is not one of Critical, High, Medium, Low, Info"))
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The product's name (default: every product).
    #[arg(long)]
    pub product: Option<String>,
    /// A calendar quarter, e.g. `2026-Q1`.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub quarter: Option<String>,
    /// First day of the period (YYYY-MM-DD), with `--to`.
    #[arg(long, requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// Last day of the period (inclusive), with `--from`.
    #[arg(long, requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// `pdf`, `csv` or `json`.
    #[arg(long, default_value = "pdf")]
    pub format: String,
    /// Where to write (default: `sla-compliance-<product>-<from>-<to>.<format>` here); `-` for stdout.
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default `127.0.0.1:8080`, or `SLAWATCH_BIND`).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Load the demo scenario before serving.
    #[arg(long)]
    pub demo: bool,
    /// Do not run the scheduler on this instance (API only).
    #[arg(long)]
    pub no_scheduler: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a generated password when none is given.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        superuser: bool,
        /// The password (default: a random one, printed once).
        #[arg(long)]
        password: Option<String>,
    },
    /// List every user: id, username, email, superuser, active.
    List,
    /// Deactivate a user: their sessions end, they cannot sign in and their API tokens stop working.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Set a user's password; their sessions end.
    SetPassword {
        #[arg(long)]
        username: String,
        /// The new password (default: a random one, printed once).
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (once).
    Create {
        #[arg(long)]
        username: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List API tokens (never their secrets): id, user, name, prefix, created, last used, revoked.
    List {
        /// Only this user's tokens.
        #[arg(long)]
        username: Option<String>,
    },
    /// Revoke an API token by its id (see `token list`).
    Revoke {
        #[arg(long)]
        id: i32,
    },
}
