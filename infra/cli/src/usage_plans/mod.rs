//! `xecure usage-plan list | assign | unassign`: which usage plan (infra/usage-plans.toml)
//! limits each app on the protected API. On a deployment (`--dynamodb-table`) through the API
//! Gateway API: the app's API key (value derived as the authorizer derives its
//! `usageIdentifierKey`) is created if missing and linked to exactly one plan of the stage. On
//! a local data directory: the local gateway's assignment file.

mod api_gateway;

use crate::output::say;
use crate::target::Target;
use clap::{Args, Subcommand};
use xecure::api_usage::plans::{UsagePlan, UsagePlans};
use xecure::audit::AuditDraft;
use xecure::domain::{AuditEventKind, AuditOutcome, ClientId};
use xecure_local::per_app_limits::{assignments_path, read_assignments, update_assignments};

#[derive(Subcommand)]
pub enum UsagePlanCommand {
    /// The plans and the apps on each.
    List(StageArgs),
    /// Put an app on a plan (taking it off any other plan of the stage).
    Assign(AssignArgs),
    /// Take an app off every plan: with per-app limits enforced, its calls get 403.
    Unassign(UnassignArgs),
}

#[derive(Args)]
pub struct StageArgs {
    /// The deployment's stage (template parameter Stage): plans are `xecure-<stage>-<name>`.
    /// Needed with --dynamodb-table.
    #[arg(long, env = "XECURE_STAGE")]
    stage: Option<String>,
}

#[derive(Args)]
pub struct AssignArgs {
    /// The app (OAuth client id).
    #[arg(long)]
    client: String,
    /// The plan's name in infra/usage-plans.toml.
    #[arg(long)]
    plan: String,
    #[command(flatten)]
    stage: StageArgs,
}

#[derive(Args)]
pub struct UnassignArgs {
    #[arg(long)]
    client: String,
    #[command(flatten)]
    stage: StageArgs,
}

fn describe(plan: &UsagePlan) -> String {
    format!(
        "{} req/s, burst {}, {} per {}",
        plan.rate_limit,
        plan.burst_limit,
        plan.quota_limit,
        plan.quota_period.as_str().to_lowercase()
    )
}

/// The client, which must exist in the target's store.
async fn existing_client(target: &Target, raw: &str) -> Result<ClientId, String> {
    let id = ClientId::parse(raw).map_err(|e| e.to_string())?;
    match target
        .store
        .get_client(&id)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(_) => Ok(id),
        None => Err(format!("no client {id} in {}", target.description)),
    }
}

fn stage_of(args: &StageArgs) -> Result<&str, String> {
    args.stage
        .as_deref()
        .ok_or_else(|| "give --stage (or XECURE_STAGE): the deployment's Stage parameter".into())
}

/// On a deployment: through the API Gateway API.
pub async fn run(command: UsagePlanCommand, target: &Target) -> Result<(), String> {
    let plans = UsagePlans::from_env().map_err(|e| e.to_string())?;
    let aws = match (&target.aws, &target.data_dir) {
        (Some(aws), _) => aws,
        (None, Some(dir)) => return run_local(command, target, dir, &plans).await,
        (None, None) => return Err("usage plans of a deployment need --dynamodb-table".into()),
    };
    match command {
        UsagePlanCommand::List(args) => api_gateway::list(aws, stage_of(&args)?, &plans).await,
        UsagePlanCommand::Assign(args) => {
            let client = existing_client(target, &args.client).await?;
            let plan = plans
                .find(&args.plan)
                .ok_or_else(|| format!("no plan '{}' in the usage plans", args.plan))?;
            api_gateway::assign(aws, stage_of(&args.stage)?, &client, plan, &plans).await?;
            audit_plan_change(target, &client, &plan.name).await;
            say!("{client} is on {} ({})", plan.name, describe(plan));
            Ok(())
        }
        UsagePlanCommand::Unassign(args) => {
            let client = ClientId::parse(&args.client).map_err(|e| e.to_string())?;
            api_gateway::unassign(aws, stage_of(&args.stage)?, &client, &plans).await?;
            audit_plan_change(target, &client, "none").await;
            say!("{client} is on no plan");
            Ok(())
        }
    }
}

/// An operator's change of what limits an app, in the audit trail with who made it (`client_changed`, detail `usage_plan`: the plan's name, or `none`).
async fn audit_plan_change(target: &Target, client: &ClientId, plan: &str) {
    let draft = AuditDraft::new(AuditEventKind::ClientChanged, AuditOutcome::Success)
        .client(client)
        .detail("by", "operator")
        .detail("usage_plan", plan);
    target.audit(draft).await;
}

/// On a local data directory: the local gateway's assignment file, which a running
/// `xecure serve` reads on each call (the command runs in it, through its CLI endpoint, when
/// it holds the store). Changes are audited as on a deployment.
async fn run_local(
    command: UsagePlanCommand,
    target: &Target,
    data_dir: &std::path::Path,
    plans: &UsagePlans,
) -> Result<(), String> {
    let path = assignments_path(data_dir);
    match command {
        UsagePlanCommand::List(_) => {
            let assignments = read_assignments(&path)?;
            for plan in plans.plans() {
                let apps: Vec<&str> = assignments
                    .iter()
                    .filter(|(_, name)| **name == plan.name)
                    .map(|(client, _)| client.as_str())
                    .collect();
                say!(
                    "{:<12}  {:<40}  {}",
                    plan.name,
                    describe(plan),
                    apps.join(" ")
                );
            }
            Ok(())
        }
        UsagePlanCommand::Assign(args) => {
            let client = existing_client(target, &args.client).await?;
            let plan = plans
                .find(&args.plan)
                .ok_or_else(|| format!("no plan '{}' in the usage plans", args.plan))?;
            update_assignments(&path, |assignments| {
                assignments.insert(client.to_string(), plan.name.clone());
                Ok(())
            })?;
            audit_plan_change(target, &client, &plan.name).await;
            say!("{client} is on {} ({})", plan.name, describe(plan));
            Ok(())
        }
        UsagePlanCommand::Unassign(args) => {
            let client = ClientId::parse(&args.client).map_err(|e| e.to_string())?;
            update_assignments(&path, |assignments| {
                match assignments.remove(client.as_str()) {
                    Some(_) => Ok(()),
                    None => Err(format!("{client} is on no plan")),
                }
            })?;
            audit_plan_change(target, &client, "none").await;
            say!("{client} is on no plan");
            Ok(())
        }
    }
}
