//! `xecure`: operate an Xecure deployment or a local data directory.
//!
//!     xecure serve                            # the whole system on 127.0.0.1:3000
//!     xecure keys rotate                      # first key, or a rotation
//!     xecure keys list
//!     echo 'a long passphrase' | xecure user add --username alice
//!     xecure client add --id web-app --name "Web App" --redirect-uri https://app.example/cb --scope profile:read
//!     xecure --dynamodb-table xecure-prod --kms-key-id alias/xecure-prod keys rotate

mod clients;
mod keys;
mod serve;
mod target;
mod users;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// OAuth clients: register, list, show, remove.
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Users who log in on the login page: add, disable, remove.
    #[command(subcommand)]
    User(users::UserCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = async {
        let target = cli.target.open().await?;
        match cli.command {
            Command::Serve(args) => serve::run(args, &target).await,
            Command::Keys(command) => keys::run(command, &target).await,
            Command::Client(command) => clients::run(command, &target).await,
            Command::User(command) => users::run(command, &target).await,
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
