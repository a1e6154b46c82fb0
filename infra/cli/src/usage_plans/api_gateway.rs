//! Usage-plan assignment through the API Gateway API. The template creates the plans
//! (`xecure-<stage>-<name>`, on the REST API's stage); this links each app's API key to one of
//! them. The key's value is what the authorizer returns as `usageIdentifierKey` for the app on
//! that API and stage, so API Gateway finds the app's plan on every call.

use crate::output::say;
use aws_sdk_apigateway::error::DisplayErrorContext;
use aws_sdk_apigateway::types::{ApiKey, UsagePlan as Plan};
use aws_sdk_apigateway::Client;
use xecure::api_usage::plans::{usage_identifier_key, UsagePlan, UsagePlans};
use xecure::config::SdkConfig;
use xecure::domain::ClientId;

/// Pages read before giving up: an account holds at most a few hundred plans.
const MAX_PAGES: usize = 50;

fn failed<E: std::error::Error>(call: &str) -> impl Fn(E) -> String + '_ {
    move |error| format!("{call}: {}", DisplayErrorContext(&error))
}

/// The API key's name for an app: `xecure-<stage>-<client id>`.
fn key_name(stage: &str, client: &ClientId) -> String {
    format!("xecure-{stage}-{client}")
}

/// The stage's Xecure plans, by their name in the usage-plan file.
async fn stage_plans(
    client: &Client,
    stage: &str,
    plans: &UsagePlans,
) -> Result<Vec<(UsagePlan, Plan)>, String> {
    let mut found = Vec::new();
    let mut position: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .get_usage_plans()
            .limit(500)
            .set_position(position.take())
            .send()
            .await
            .map_err(failed("GetUsagePlans"))?;
        for deployed in page.items() {
            let declared = plans
                .plans()
                .iter()
                .find(|plan| deployed.name() == Some(plan.name_in(stage).as_str()));
            if let Some(declared) = declared {
                found.push((declared.clone(), deployed.clone()));
            }
        }
        match page.position() {
            Some(next) if !page.items().is_empty() => position = Some(next.to_owned()),
            _ => return Ok(found),
        }
    }
    Err("GetUsagePlans: too many pages".into())
}

/// The one API stage a plan of the template is attached to.
fn api_stage(plan: &Plan) -> Result<(String, String), String> {
    let name = plan.name().unwrap_or_default();
    match plan.api_stages() {
        [stage] => match (stage.api_id(), stage.stage()) {
            (Some(api), Some(stage)) => Ok((api.to_owned(), stage.to_owned())),
            _ => Err(format!("usage plan {name} has an incomplete API stage")),
        },
        stages => Err(format!(
            "usage plan {name} is attached to {} API stages, expected 1 (the template's)",
            stages.len()
        )),
    }
}

fn plan_id(plan: &Plan) -> Result<&str, String> {
    plan.id()
        .ok_or_else(|| "a usage plan without an id".to_owned())
}

/// The app's API key, if it exists (exact name match, with its value).
async fn find_key(client: &Client, name: &str) -> Result<Option<ApiKey>, String> {
    let page = client
        .get_api_keys()
        .name_query(name)
        .include_values(true)
        .limit(500)
        .send()
        .await
        .map_err(failed("GetApiKeys"))?;
    Ok(page
        .items()
        .iter()
        .find(|key| key.name() == Some(name))
        .cloned())
}

/// Whether the plan holds the key.
async fn plan_has_key(client: &Client, plan: &str, key_id: &str) -> Result<bool, String> {
    let page = client
        .get_usage_plan_keys()
        .usage_plan_id(plan)
        .limit(1000)
        .send()
        .await
        .map_err(failed("GetUsagePlanKeys"))?;
    Ok(page.items().iter().any(|key| key.id() == Some(key_id)))
}

/// Takes the key off the plan, if it is on it.
async fn remove_key(client: &Client, plan: &str, key_id: &str) -> Result<(), String> {
    if plan_has_key(client, plan, key_id).await? {
        client
            .delete_usage_plan_key()
            .usage_plan_id(plan)
            .key_id(key_id)
            .send()
            .await
            .map_err(failed("DeleteUsagePlanKey"))?;
    }
    Ok(())
}

pub async fn assign(
    aws: &SdkConfig,
    stage: &str,
    app: &ClientId,
    plan: &UsagePlan,
    plans: &UsagePlans,
) -> Result<(), String> {
    let client = Client::new(aws);
    let deployed = stage_plans(&client, stage, plans).await?;
    let (_, target) = deployed
        .iter()
        .find(|(declared, _)| declared.name == plan.name)
        .ok_or_else(|| {
            format!(
                "no usage plan {} in API Gateway: is the stack deployed with ApiType=REST?",
                plan.name_in(stage)
            )
        })?;
    let (api_id, api_stage_name) = api_stage(target)?;
    let value = usage_identifier_key(&api_id, &api_stage_name, app.as_str());
    let name = key_name(stage, app);
    let key = match find_key(&client, &name).await? {
        Some(key) if key.value() == Some(value.as_str()) => key,
        Some(_) => {
            return Err(format!(
                "API key {name} exists with another value: delete it (aws apigateway delete-api-key) and assign again"
            ))
        }
        None => {
            let created = client
                .create_api_key()
                .name(&name)
                .value(&value)
                .enabled(true)
                .description(format!("Xecure app {app}: usage-plan key the authorizer names"))
                .send()
                .await
                .map_err(failed("CreateApiKey"))?;
            ApiKey::builder()
                .set_id(created.id().map(str::to_owned))
                .name(&name)
                .build()
        }
    };
    let key_id = key.id().ok_or("an API key without an id")?;
    // One plan per key and stage: API Gateway refuses a key on two plans of one stage.
    for (declared, other) in &deployed {
        let other_id = plan_id(other)?;
        if declared.name != plan.name {
            remove_key(&client, other_id, key_id).await?;
        }
    }
    let target_id = plan_id(target)?;
    if !plan_has_key(&client, target_id, key_id).await? {
        client
            .create_usage_plan_key()
            .usage_plan_id(target_id)
            .key_id(key_id)
            .key_type("API_KEY")
            .send()
            .await
            .map_err(failed("CreateUsagePlanKey"))?;
    }
    Ok(())
}

pub async fn unassign(
    aws: &SdkConfig,
    stage: &str,
    app: &ClientId,
    plans: &UsagePlans,
) -> Result<(), String> {
    let client = Client::new(aws);
    let name = key_name(stage, app);
    let key = find_key(&client, &name)
        .await?
        .ok_or_else(|| format!("{app} has no API key ({name}): it is on no plan"))?;
    let key_id = key.id().ok_or("an API key without an id")?;
    for (_, plan) in stage_plans(&client, stage, plans).await? {
        remove_key(&client, plan_id(&plan)?, key_id).await?;
    }
    client
        .delete_api_key()
        .api_key(key_id)
        .send()
        .await
        .map_err(failed("DeleteApiKey"))?;
    Ok(())
}

pub async fn list(aws: &SdkConfig, stage: &str, plans: &UsagePlans) -> Result<(), String> {
    let client = Client::new(aws);
    let prefix = format!("xecure-{stage}-");
    for (declared, deployed) in stage_plans(&client, stage, plans).await? {
        let keys = client
            .get_usage_plan_keys()
            .usage_plan_id(plan_id(&deployed)?)
            .limit(1000)
            .send()
            .await
            .map_err(failed("GetUsagePlanKeys"))?;
        let apps: Vec<&str> = keys
            .items()
            .iter()
            .filter_map(|key| key.name()?.strip_prefix(&prefix))
            .collect();
        let limits = match (deployed.throttle(), deployed.quota()) {
            (Some(throttle), Some(quota)) => format!(
                "{} req/s, burst {}, {} per {}",
                throttle.rate_limit(),
                throttle.burst_limit(),
                quota.limit(),
                quota
                    .period()
                    .map(|p| p.as_str().to_lowercase())
                    .unwrap_or_default()
            ),
            _ => "no limits set".into(),
        };
        say!("{:<12}  {:<40}  {}", declared.name, limits, apps.join(" "));
    }
    Ok(())
}
