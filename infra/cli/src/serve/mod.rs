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
use tokio::net::TcpListener;

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
    http::serve(listener, system, args.limits).await
}
