//! Which store (and key sealer) a command works on: a local data directory by default, or a
//! DynamoDB table with a KMS key.

use crate::operator;
use crate::service_clock::ServiceClock;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use xecure::audit::{AuditDraft, Auditor, RequestContext};
use xecure::budget::DependencyBudget;
use xecure::config::{aws_sdk_config_within, SdkConfig};
use xecure::oauth::access_revocation::AccessRevoker;
use xecure::ports::{Clock, OsRng, Store, SystemClock};
use xecure::signing::{KeySealer, KmsKeySealer, LocalKeySealer};
use xecure::store::dynamo::DynamoStore;
use xecure::store::embedded::EmbeddedStore;

#[derive(Args)]
pub struct TargetArgs {
    /// Local data directory (embedded store and key-encryption key).
    #[arg(
        long,
        global = true,
        env = "XECURE_DATA_DIR",
        default_value = ".xecure-data",
        conflicts_with = "dynamodb_table"
    )]
    data_dir: PathBuf,
    /// Work on this DynamoDB table instead (AWS credentials and region from the environment;
    /// AWS_ENDPOINT_URL for a local DynamoDB-compatible server).
    #[arg(long, global = true, env = "XECURE_TABLE")]
    dynamodb_table: Option<String>,
    /// KMS key that seals signing keys, with --dynamodb-table.
    #[arg(long, global = true, env = "XECURE_KMS_KEY_ID")]
    kms_key_id: Option<String>,
    /// A DynamoDB- and KMS-compatible endpoint (e.g. moto or DynamoDB Local on loopback),
    /// with --dynamodb-table; the same as AWS_ENDPOINT_URL.
    #[arg(long, global = true, requires = "dynamodb_table")]
    endpoint: Option<String>,
}

#[derive(Clone)]
pub struct Target {
    /// Who runs the command, in every audit record it writes (`detail.operator`).
    pub operator: operator::Operator,
    pub store: Arc<dyn Store>,
    /// The time every instant this command writes is taken from: the service's (see
    /// `service_clock`).
    pub clock: Arc<dyn Clock>,
    /// Only the key commands need it; DynamoDB without a KMS key has none.
    pub sealer: Option<Arc<dyn KeySealer>>,
    pub description: String,
    /// The AWS configuration, when the target is in AWS (or an AWS-compatible endpoint).
    pub aws: Option<SdkConfig>,
    /// The local data directory, when the target is one (the local gateway keeps its access
    /// log and usage-plan assignments there).
    pub data_dir: Option<PathBuf>,
    /// The embedded store itself, when the target is a data directory (`serve` sweeps it).
    pub embedded: Option<EmbeddedStore>,
}

impl Target {
    /// The store and key sealer as the local API Gateway takes them.
    pub fn local_data(&self) -> xecure_local::api_gateway::LocalData {
        xecure_local::api_gateway::LocalData {
            store: self.store.clone(),
            sealer: self.sealer.clone(),
        }
    }

    /// Administrative actions are audited like protocol events (source: this command).
    /// The account `username` names, or the message that there is none.
    pub async fn existing_user(&self, username: &str) -> Result<xecure::domain::User, String> {
        let username = xecure::domain::Username::parse(username).map_err(|e| e.to_string())?;
        self.store
            .get_user_by_username(&username)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no user {username}"))
    }

    pub async fn audit(&self, draft: AuditDraft) {
        self.auditor().record(draft, &self.context().await).await;
    }

    pub fn auditor(&self) -> Auditor {
        Auditor::new(
            self.store.clone(),
            self.clock.clone(),
            Arc::new(OsRng),
            AUDIT_RETENTION,
        )
    }

    /// The request context of administrative actions: the tool and the operator.
    pub async fn context(&self) -> RequestContext {
        RequestContext {
            user_agent: Some("xecure-cli".into()),
            operator: Some(self.operator.name().await),
            ..RequestContext::default()
        }
    }
}

/// Longest access-token lifetime a deployment may configure, plus leeway: how long the
/// revocation entries of operator controls must last (the CLI does not know the deployed
/// functions' settings).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

impl Target {
    /// Withdraws access as an operator, now.
    pub fn revoker<'a>(
        &'a self,
        auditor: &'a Auditor,
        context: &'a RequestContext,
    ) -> AccessRevoker<'a> {
        AccessRevoker {
            store: self.store.as_ref(),
            auditor,
            rng: &OsRng,
            now: self.clock.now(),
            token_lifetime: MAX_TOKEN_LIFETIME,
            by: "operator",
            context,
        }
    }
}

/// Administrative records are kept as long as protocol ones by default (400 days).
const AUDIT_RETENTION: Duration = Duration::from_secs(400 * 24 * 60 * 60);

impl TargetArgs {
    /// The local data directory, unless a DynamoDB table is the target.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        match self.dynamodb_table {
            Some(_) => None,
            None => Some(&self.data_dir),
        }
    }

    /// Every AWS call the target makes is bounded by `budget` (rule 18). None when the data
    /// directory is held by another process (a running `xecure serve`).
    pub async fn open(&self, budget: DependencyBudget) -> Result<Option<Target>, String> {
        match &self.dynamodb_table {
            Some(table) => {
                let mut aws = aws_sdk_config_within(budget).await;
                if let Some(endpoint) = &self.endpoint {
                    aws = aws.into_builder().endpoint_url(endpoint).build();
                }
                let (clock, skew) =
                    ServiceClock::measured(&aws_sdk_dynamodb::Client::new(&aws)).await;
                if clock.offset_ms() != 0 {
                    eprintln!(
                        "xecure: this machine's clock is {:.1} s off DynamoDB's; writing in DynamoDB's time",
                        skew.unwrap_or_default() as f64 / -1000.0
                    );
                }
                let operator = operator::Operator::aws_caller(&aws);
                let store = DynamoStore::from_config(&aws, table.clone());
                let sealer = self.kms_key_id.as_ref().map(|key| {
                    Arc::new(KmsKeySealer::from_config(&aws, key.clone())) as Arc<dyn KeySealer>
                });
                Ok(Some(Target {
                    operator,
                    store: Arc::new(store),
                    clock: Arc::new(clock),
                    sealer,
                    aws: Some(aws),
                    embedded: None,
                    description: format!("DynamoDB table {table}"),
                    data_dir: None,
                }))
            }
            None => {
                let Some(store) =
                    EmbeddedStore::open_unless_held(&self.data_dir).map_err(|e| e.to_string())?
                else {
                    return Ok(None);
                };
                let sealer = LocalKeySealer::open(&self.data_dir).map_err(|e| e.to_string())?;
                Ok(Some(Target {
                    operator: operator::Operator::known(operator::os_user()),
                    store: Arc::new(store.clone()),
                    clock: Arc::new(SystemClock),
                    embedded: Some(store),
                    sealer: Some(Arc::new(sealer)),
                    description: format!("data directory {}", self.data_dir.display()),
                    aws: None,
                    data_dir: Some(self.data_dir.clone()),
                }))
            }
        }
    }
}
