//! Wiring shared by the authorize and consent Lambdas: configuration from the environment,
//! the DynamoDB store, and the flow over them. Read once per cold start.

use crate::config::{aws_sdk_config, InteractionConfig, OAuthConfig, StoreConfig};
use crate::oauth::interaction::AuthorizationFlow;
use crate::ports::{OsRng, SystemClock};
use crate::scopes::ScopeCatalogue;
use crate::store::dynamo::DynamoStore;
use std::sync::Arc;

/// The flow `function` (authorize or consent) serves, auditing to the log group if one is set.
pub async fn flow_from_env(
    function: &'static str,
) -> Result<AuthorizationFlow, crate::config::ConfigError> {
    let config = OAuthConfig::from_env()?;
    let interaction = InteractionConfig::from_env()?;
    let catalogue = ScopeCatalogue::from_env()?;
    let aws = aws_sdk_config().await;
    let store = Arc::new(DynamoStore::from_config(
        &aws,
        StoreConfig::from_env()?.table_name,
    ));
    Ok(AuthorizationFlow::new(
        store,
        Arc::new(catalogue),
        config,
        interaction,
        Arc::new(SystemClock),
        Arc::new(OsRng),
    )
    .with_auditor(|auditor| crate::audit::cloudwatch::for_lambda(auditor, &aws, function)))
}
