//! `xecure`: operate an Xecure deployment or a local data directory.
//!
//!     xecure serve                            # the whole system on 127.0.0.1:3000
//!     xecure keys rotate                      # first key, or a rotation
//!     xecure keys list
//!     echo 'a long passphrase' | xecure user add --username alice
//!     xecure client add --id web-app --name "Web App" --redirect-uri https://app.example/cb --scope profile:read
//!     xecure --dynamodb-table xecure-prod --kms-key-id alias/xecure-prod keys rotate
//!     xecure usage-plan assign --client web-app --plan standard
//!     xecure usage --client web-app --since 24h

mod audit;
mod clients;
mod keys;
mod serve;
mod service_clock;
mod target;
mod usage;
mod usage_plans;
mod users;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xecure::budget::DependencyBudget;

#[derive(Parser)]
#[command(
    name = "xecure",
    version,
    about = "Run Xecure locally (serve) and operate it: signing keys, OAuth clients and users"
)]
struct Cli {
    #[command(flatten)]
    target: target::TargetArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system locally: OAuth endpoints, login and consent pages, and a demo API
    /// behind the authorizer, on one loopback port.
    Serve(serve::ServeArgs),
    /// Token-signing keys: create the first one, rotate, list.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// OAuth clients: register, list, show, disable, remove; initial access tokens for
    /// dynamic registration.
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Users who log in on the login page: add, passwd, disable, remove.
    #[command(subcommand)]
    User(users::UserCommand),
    /// The scope catalogue (infra/scopes.toml, or XECURE_SCOPES_FILE): names and descriptions.
    Scopes,
    /// Audit records of a user or a client, newest first.
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
        println!(
            "{name:<20}  {}",
            catalogue.describe(name).unwrap_or_default()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = async {
        // Usage and local plan assignments never open the embedded store, which a running
        // `xecure serve` holds: they work beside it on its access log and assignment file.
        match (cli.command, cli.target.local_dir()) {
            (Command::Usage(args), Some(dir)) => usage::run(args, None, Some(dir)).await,
            (Command::UsagePlan(command), Some(dir)) => usage_plans::run_local(command, dir),
            (command, _) => {
                // `serve` answers requests as the functions do, with their bounds on every
                // call; the other commands are an operator waiting (rule 18,
                // `xecure::budget`).
                let budget = match command {
                    Command::Serve(_) => DependencyBudget::FUNCTIONS,
                    _ => DependencyBudget::OPERATOR,
                };
                run(command, &cli.target.open(budget).await?).await
            }
        }
    }
    .await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xecure: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, target: &target::Target) -> Result<(), String> {
    match command {
        Command::Serve(args) => serve::run(args, target).await,
        Command::Keys(command) => keys::run(command, target).await,
        Command::Client(command) => clients::run(command, target).await,
        Command::User(command) => users::run(command, target).await,
        Command::Scopes => scopes(),
        Command::Audit(args) => audit::run(args, target).await,
        Command::Usage(args) => usage::run(args, target.aws.as_ref(), None).await,
        Command::UsagePlan(command) => usage_plans::run(command, target).await,
    }
}
