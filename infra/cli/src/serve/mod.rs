//! `xecure serve`: the whole system on one loopback port, no AWS account: the local API
//! Gateway of crate `xecure-local` over the CLI's data directory (or table), with the demo
//! set-up, the CLI's admin endpoint beside it and the embedded store's sweep.

#[cfg(test)]
mod api_gateway_tests;
mod bootstrap;
#[cfg(test)]
mod revocation_tests;
#[cfg(test)]
mod test_store;

use xecure_local::{access_log, api_gateway, http, limits, per_app_limits};

use crate::target::Target;
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use xecure::api_usage::plans::UsagePlans;
use xecure::ports::{Clock, SystemClock};
use xecure::store::embedded::EmbeddedStore;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT with an IP or a host name (`localhost:3000` listens
    /// on every address it resolves to); loopback by default: this is a development server.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: String,
    /// Issuer URL (default: http://<listen address>).
    #[arg(long)]
    pub issuer: Option<String>,
    /// How the local gateway calls the authorizer, as a REST API would.
    #[arg(long, value_enum, default_value = "token")]
    pub authorizer_mode: api_gateway::AuthorizerMode,
    /// Usage plans on the protected routes, as the template's REST API enforces them: each
    /// app needs a plan (`xecure usage-plan assign`); the demo clients get `standard`.
    /// Needs a local data directory (the assignments live there).
    #[arg(long, value_enum, default_value = "enforced")]
    pub per_app_limits: PerAppLimitsMode,
    #[command(flatten)]
    pub limits: limits::ServerLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PerAppLimitsMode {
    Enforced,
    Off,
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

/// Every address `listen` names, bound: an IP and port, or a host name and port resolved
/// by the system (`localhost:3000`: 127.0.0.1 and ::1). Port 0 asks the system for a free
/// port; every address then takes the port the first one got. An address after the first
/// that cannot be bound (no IPv6 on this machine) is skipped with a warning.
async fn bind(listen: &str) -> Result<http::Listeners, String> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| format!("--listen {listen}: not HOST:PORT with a known host ({e})"))?
        .collect();
    let (first, rest) = addresses
        .split_first()
        .ok_or_else(|| format!("--listen {listen}: the host has no address"))?;
    let listener = TcpListener::bind(first).await.map_err(|e| {
        format!("cannot listen on {first} ({listen}): {e} (is the port in use? try --listen)")
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?
        .port();
    let mut listeners = vec![listener];
    for address in rest {
        let address = SocketAddr::new(address.ip(), port);
        if listeners
            .iter()
            .any(|l: &TcpListener| l.local_addr().ok() == Some(address))
        {
            continue;
        }
        match TcpListener::bind(address).await {
            Ok(listener) => listeners.push(listener),
            Err(e) => eprintln!("xecure serve: not listening on {address} ({listen}): {e}"),
        }
    }
    Ok(http::Listeners(listeners))
}

/// What the issuer and the banner call the server: the host as the operator wrote it (a
/// name stays a name), with the port actually bound (port 0 asks the system for a free one,
/// so a caller, a test or a script, learns it from the banner without racing for one).
fn served_as(listen: &str, listeners: &http::Listeners) -> Result<String, String> {
    let port = listeners
        .0
        .first()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .ok_or("cannot read the listening address")?;
    let host = listen.rsplit_once(':').map_or(listen, |(host, _)| host);
    Ok(format!("{host}:{port}"))
}

pub async fn run(args: ServeArgs, target: &Target) -> Result<(), String> {
    let listener = bind(&args.listen).await?;
    let issuer = match args.issuer.clone() {
        Some(issuer) => issuer,
        None => format!("http://{}", served_as(&args.listen, &listener)?),
    };
    let mut welcome = bootstrap::ensure_demo_setup(target, &issuer).await?;
    let mut system =
        api_gateway::LocalSystem::build(&target.local_data(), &issuer, args.authorizer_mode)
            .await?;
    match (&target.data_dir, args.per_app_limits) {
        (Some(dir), PerAppLimitsMode::Enforced) => {
            let assignments = per_app_limits::assignments_path(dir);
            welcome += &bootstrap::assign_demo_plans(&assignments)?;
            let plans = UsagePlans::from_env().map_err(|e| e.to_string())?;
            system =
                system.with_per_app_limits(per_app_limits::PerAppLimits::new(plans, assignments));
        }
        (None, PerAppLimitsMode::Enforced) => {
            welcome += "\nper-app limits: off (they need a local data directory)";
        }
        (_, PerAppLimitsMode::Off) => {}
    }
    if let Some(dir) = &target.data_dir {
        let path = access_log::access_log_path(dir);
        system = system.with_access_log(access_log::AccessLog::append_to(&path)?);
        welcome += &format!(
            "\naccess log: {} (xecure usage --client ID)",
            path.display()
        );
    }
    if let Some(dir) = &target.data_dir {
        let clients = system.client_cache();
        match crate::admin::endpoint::start(target, dir, args.limits, clients).await {
            Ok(socket) => {
                welcome += &format!(
                    "\nCLI beside this server: xecure commands on this data directory run here ({socket})"
                )
            }
            // The server is still of use without it: stop it to run commands instead.
            Err(error) => welcome += &format!("\nCLI beside this server: off ({error})"),
        }
    }
    let system = Arc::new(system);
    println!("Xecure is serving {} from {}", issuer, target.description);
    println!("{welcome}");
    if let Some(store) = target.embedded.clone() {
        tokio::spawn(sweep_expired(store, sweep_interval()?));
    }
    http::serve(listener, system, args.limits).await
}
