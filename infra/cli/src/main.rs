//! `xecure`: operate an Xecure deployment or a local data directory.
//!
//!     xecure serve                            # the whole system on 127.0.0.1:3000
//!     xecure keys rotate                      # first key, or a rotation
//!     xecure keys list
//!     xecure user add alice                   # prompts for the password (no echo)
//!     xecure client add web-app --name "Web App" --redirect-uri https://app.example/cb --scope profile:read
//!     xecure --dynamodb-table xecure-prod --kms-key-id alias/xecure-prod keys rotate
//!     xecure usage-plan assign --client web-app --plan standard
//!     xecure usage --client web-app --since 24h

mod admin;
mod audit;
mod clients;
mod keys;
mod local_time;
mod operator;
mod output;
mod password_input;
mod serve;
mod service_clock;
mod target;
mod usage;
mod usage_plans;
mod users;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc: allocation was a fifth of `xecure serve`'s CPU under
/// token load (issue #21 goal 2; README "Token endpoint throughput").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;
use xecure::budget::DependencyBudget;

#[derive(Parser)]
#[command(
    name = "xecure",
    version,
    about = "Run Xecure locally (serve) and operate it: signing keys, OAuth clients and users"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    target: target::TargetArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the whole system locally: OAuth endpoints, login and consent pages, and a demo API
    /// behind the authorizer, on one loopback port.
    Serve(serve::ServeArgs),
    /// Token-signing keys: create the first one, rotate, list.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// OAuth clients: register, list, show, update, verify, new secret, disable, remove;
    /// initial access tokens for dynamic registration.
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Users who log in on the login page: add, list, show, passwd, unlock, sign-out,
    /// disable, remove.
    #[command(subcommand)]
    User(users::UserCommand),
    /// The scope catalogue (infra/scopes.toml, or XECURE_SCOPES_FILE): names and descriptions.
    Scopes,
    /// Audit records, newest first: every one, or those of a user, a client or a login name.
    Audit(audit::AuditArgs),
    /// One app's calls to the protected API (per route or per day) from the access logs.
    Usage(usage::UsageArgs),
    /// Usage plans: which plan's rate, burst and quota limit each app.
    #[command(subcommand, name = "usage-plan")]
    UsagePlan(usage_plans::UsagePlanCommand),
}

fn scopes() -> Result<(), String> {
    let catalogue = xecure::scopes::ScopeCatalogue::from_env().map_err(|e| e.to_string())?;
    for name in catalogue.names() {
        output::say!(
            "{name:<20}  {}",
            catalogue.describe(name).unwrap_or_default()
        );
    }
    Ok(())
}

impl Command {
    /// Whether the command reads a new password (prompted, or a line of standard input).
    fn reads_password(&self) -> bool {
        matches!(
            self,
            Command::User(users::UserCommand::Add { .. } | users::UserCommand::Passwd { .. })
        )
    }
}

fn main() -> ExitCode {
    // Before any thread exists (local_time.rs says why).
    local_time::capture_offset();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run_cli()),
        Err(error) => {
            eprintln!("xecure: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_cli() -> ExitCode {
    let cli = Cli::parse();
    let outcome = async {
        // Usage never opens the embedded store, which a running `xecure serve` holds: it
        // reads the access log beside it.
        match (cli.command, cli.target.local_dir()) {
            (Command::Usage(args), Some(dir)) => {
                usage::run(args, None, Some(dir)).await.map(|()| 0)
            }
            (command, dir) => {
                // `serve` answers requests as the functions do, with their bounds on every
                // call; the other commands are an operator waiting (rule 18,
                // `xecure::budget`).
                let budget = match command {
                    Command::Serve(_) => DependencyBudget::FUNCTIONS,
                    _ => DependencyBudget::OPERATOR,
                };
                match (cli.target.open(budget).await?, dir) {
                    (Some(target), _) => run(command, &target).await.map(|()| 0),
                    (None, Some(dir)) if !matches!(command, Command::Serve(_)) => {
                        forward(command, dir).await
                    }
                    (None, _) => Err(
                        "the data directory is open in another process (a running `xecure serve`?)"
                            .into(),
                    ),
                }
            }
        }
    }
    .await;
    match outcome {
        Ok(status) => ExitCode::from(status),
        Err(message) => {
            eprintln!("xecure: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The data directory is held by a running `xecure serve`: it runs the command (`admin`).
/// A new password is read here, on this terminal or standard input, and sent with it.
async fn forward(command: Command, dir: &std::path::Path) -> Result<u8, String> {
    let input = match command.reads_password() {
        true => Some(password_input::read_password_text()?),
        false => None,
    };
    let forwarded = admin::ForwardedCommand {
        args: std::env::args().collect(),
        input,
        operator: operator::os_user(),
    };
    admin::forward::forward(dir, forwarded).await
}

async fn run(command: Command, target: &target::Target) -> Result<(), String> {
    match command {
        Command::Serve(args) => serve::run(args, target).await,
        other => run_operator_command(other, target).await,
    }
}

/// Every command but `serve`: what a running server may run for a CLI beside it.
pub(crate) async fn run_operator_command(
    command: Command,
    target: &target::Target,
) -> Result<(), String> {
    match command {
        Command::Serve(_) => Err("`serve` runs on its own, not in a running server".into()),
        Command::Keys(command) => keys::run(command, target).await,
        Command::Client(command) => clients::run(command, target).await,
        Command::User(command) => users::run(command, target).await,
        Command::Scopes => scopes(),
        Command::Audit(args) => audit::run(args, target).await,
        Command::Usage(args) => usage::run(args, target.aws.as_ref(), None).await,
        Command::UsagePlan(command) => usage_plans::run(command, target).await,
    }
}
