//! Who is running the command, for the audit trail (every operator record carries it as
//! `detail.operator`): on DynamoDB the AWS caller identity, which IAM authenticated; on a
//! data directory the OS user, by uid (the name from the environment is only a label).

use std::sync::Arc;
use tokio::sync::OnceCell;
use xecure::config::SdkConfig;

/// The operator's name, learnt once and only when a command writes a record (a read asks
/// STS nothing).
#[derive(Clone)]
pub struct Operator {
    name: Arc<OnceCell<String>>,
    aws: Option<SdkConfig>,
}

impl Operator {
    pub fn known(name: String) -> Self {
        Operator {
            name: Arc::new(OnceCell::new_with(Some(name))),
            aws: None,
        }
    }

    /// The AWS caller of this configuration, asked of STS on first use.
    pub fn aws_caller(aws: &SdkConfig) -> Self {
        Operator {
            name: Arc::new(OnceCell::new()),
            aws: Some(aws.clone()),
        }
    }

    pub async fn name(&self) -> String {
        self.name
            .get_or_init(|| async {
                match &self.aws {
                    Some(aws) => aws_caller(aws).await,
                    None => "unknown operator".to_owned(),
                }
            })
            .await
            .clone()
    }
}

/// `arn:aws:iam::123456789012:user/alice` (STS GetCallerIdentity). If STS does not answer,
/// the command still runs (reads need no identity) and its records say the caller is
/// unknown, with why.
async fn aws_caller(aws: &SdkConfig) -> String {
    match aws_sdk_sts::Client::new(aws)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => identity
            .arn()
            .map(str::to_owned)
            .unwrap_or_else(|| "aws caller without an ARN".to_owned()),
        Err(error) => {
            let cause = aws_sdk_sts::error::DisplayErrorContext(&error).to_string();
            eprintln!("xecure: cannot learn the AWS caller identity (STS): {cause}");
            "unknown AWS caller (STS GetCallerIdentity failed)".to_owned()
        }
    }
}

/// `alice (uid 1000)`.
pub fn os_user() -> String {
    let uid = rustix::process::getuid().as_raw();
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "?".to_owned());
    format!("{name} (uid {uid})")
}
