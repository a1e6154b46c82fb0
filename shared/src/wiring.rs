//! The one place a Lambda's services are put together (design rule 1: each `main.rs` only
//! wires): configuration from the environment, the DynamoDB table, KMS for the signing keys,
//! the audit log group. `xecure serve` and the tests put the same services together over
//! their own store through `Dependencies::over`.

use crate::authorizer::routes::RouteTable;
use crate::authorizer::{Authorizer, AuthorizerConfig};
use crate::config::{
    aws_sdk_config, kms_key_id_from_env, ConfigError, InteractionConfig, OAuthConfig, StoreConfig,
};
use crate::oauth::interaction::AuthorizationFlow;
use crate::oauth::token::TokenService;
use crate::oauth::Dependencies;
use crate::ports::{InteractionStore, SystemClock, TokenFunctionStore};
use crate::scopes::ScopeCatalogue;
use crate::signing::{KeySealer, KeyringError, KmsKeySealer, LiveKeyring};
use crate::store::dynamo::DynamoStore;
use std::sync::Arc;

pub use crate::signing::KEYRING_RELOAD;

/// Why a cold start could not wire its function.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

/// One protocol function's dependencies in AWS, read once per cold start.
pub struct LambdaWiring {
    pub deps: Dependencies,
    /// The table: private, so a function's code gets only its capability of it.
    store: Arc<DynamoStore>,
    pub aws: aws_config::SdkConfig,
}

impl LambdaWiring {
    /// The dependencies of `function` (authorize, consent or token): its audit records go to
    /// stdout and, when `XECURE_AUDIT_LOG_GROUP` is set, to the audit log group under its name.
    pub async fn from_env(function: &'static str) -> Result<Self, WiringError> {
        let config = OAuthConfig::from_env()?;
        let catalogue = Arc::new(ScopeCatalogue::from_env()?);
        let table = StoreConfig::from_env()?.table_name;
        let aws = aws_sdk_config().await;
        let store = Arc::new(DynamoStore::from_config(&aws, table));
        let deps = Dependencies::over(store.clone(), config)
            .catalogue(catalogue)
            .build()
            .with_auditor(|auditor| crate::audit::cloudwatch::for_lambda(auditor, &aws, function));
        Ok(LambdaWiring { deps, store, aws })
    }

    /// The table as the authorize and consent functions may use it.
    pub fn interaction_store(&self) -> Arc<dyn InteractionStore> {
        self.store.clone()
    }

    /// The table as the token function may use it.
    pub fn token_function_store(&self) -> Arc<dyn TokenFunctionStore> {
        self.store.clone()
    }

    /// The authorize and consent functions' service.
    pub fn authorization_flow(&self) -> Result<AuthorizationFlow, WiringError> {
        Ok(AuthorizationFlow::new(
            self.deps.clone(),
            self.interaction_store(),
            InteractionConfig::from_env()?,
        ))
    }

    /// The token function's service: the keyring loaded (and its private keys unsealed with
    /// KMS) once per cold start, reloaded every `KEYRING_RELOAD`.
    pub async fn token_service(&self) -> Result<TokenService, WiringError> {
        let sealer = Arc::new(KmsKeySealer::from_config(&self.aws, kms_key_id_from_env()?));
        Ok(
            token_service_over(self.deps.clone(), self.token_function_store(), Some(sealer))
                .await?,
        )
    }
}

/// The token function's service over `store`: the keyring loaded once (its private keys
/// unsealed with `sealer`) and reloaded every `KEYRING_RELOAD`. The Lambda, `xecure serve`
/// and the tests all build it here.
pub async fn token_service_over(
    deps: Dependencies,
    store: Arc<dyn TokenFunctionStore>,
    sealer: Option<Arc<dyn KeySealer>>,
) -> Result<TokenService, KeyringError> {
    let keyring =
        LiveKeyring::load(store.clone(), sealer, deps.clock.clone(), KEYRING_RELOAD).await?;
    Ok(TokenService::new(deps, store, Arc::new(keyring)))
}

/// The authorizer function's decision: the route table and the published keys loaded once per
/// cold start, revocations polled from the table. It reads only keys and revocations (its
/// IAM role allows nothing else), so it takes no `Dependencies`.
pub async fn authorizer_from_env() -> Result<Authorizer, WiringError> {
    let config = AuthorizerConfig::from_env()?;
    let routes = Arc::new(RouteTable::from_env()?);
    let aws = aws_sdk_config().await;
    let store = Arc::new(DynamoStore::from_config(
        &aws,
        StoreConfig::from_env()?.table_name,
    ));
    Ok(Authorizer::load(
        store.clone(),
        store.clone(),
        store,
        routes,
        config,
        Arc::new(SystemClock),
    )
    .await?)
}
