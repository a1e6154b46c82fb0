//! `xecure serve`: the whole system on one loopback port, no AWS account. The OAuth
//! endpoints run the same handler functions the Lambdas run (HTTP converted to lambda_http
//! requests in process); the demo API behind them is guarded by the authorizer, invoked the
//! way API Gateway invokes it (see `gateway.rs`).

mod bootstrap;
mod demo_api;
mod demo_app;
mod gateway;
mod http;
#[cfg(test)]
mod http_tests;
mod limits;
#[cfg(test)]
mod revocation_tests;
mod stall;

use crate::target::Target;
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use xecure::ports::{Clock, SystemClock};
use xecure::store::embedded::EmbeddedStore;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default: this is a development server).
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Issuer URL (default: http://<listen address>).
    #[arg(long)]
    pub issuer: Option<String>,
    /// How the local gateway calls the authorizer, as a REST API would.
    #[arg(long, value_enum, default_value = "token")]
    pub authorizer_mode: gateway::AuthorizerMode,
    #[command(flatten)]
    pub limits: limits::ServerLimits,
}

/// `XECURE_SWEEP_SECONDS` (default 300): how often expired records leave the data file.
fn sweep_interval() -> Result<Duration, String> {
    match std::env::var("XECURE_SWEEP_SECONDS") {
        Err(_) => Ok(Duration::from_secs(300)),
        Ok(raw) => match raw.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(format!(
                "XECURE_SWEEP_SECONDS must be a positive whole number, not '{raw}'"
            )),
        },
    }
}

/// Removes expired records every `every` (security rule 19): the data file stops growing
/// under a steady load. A failed sweep is logged and tried again at the next tick.
async fn sweep_expired(store: EmbeddedStore, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.sweep_expired(SystemClock.now()).await {
            Ok(0) => {}
            Ok(removed) => eprintln!("xecure: swept {removed} expired records"),
            Err(error) => eprintln!("xecure: sweeping expired records failed: {error}"),
        }
    }
}

pub async fn run(args: ServeArgs, target: &Target) -> Result<(), String> {
    let issuer = args
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let listener = TcpListener::bind(args.listen).await.map_err(|e| {
        format!(
            "cannot listen on {}: {e} (is the port in use? try --listen)",
            args.listen
        )
    })?;
    let welcome = bootstrap::ensure_demo_setup(target, &issuer).await?;
    let system =
        Arc::new(gateway::LocalSystem::build(target, &issuer, args.authorizer_mode).await?);
    println!("Xecure is serving {} from {}", issuer, target.description);
    println!("{welcome}");
    if let Some(store) = target.embedded.clone() {
        tokio::spawn(sweep_expired(store, sweep_interval()?));
    }
    http::serve(listener, system, args.limits).await
}
