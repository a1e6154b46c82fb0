use crate::audit::rfc3339;
use crate::output::say;
use crate::target::Target;
use clap::Subcommand;
use std::time::Duration;
use xecure::audit::AuditDraft;
use xecure::domain::{AuditEventKind, AuditOutcome, SigningKey};
use xecure::ports::OsRng;
use xecure::signing::{ensure_id_token_key, rotate_signing_key, SigningAlgorithm};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a signing key. The first key signs at once; later keys are published first and
    /// sign after --publish-ahead, and older keys retire once their last token has expired.
    Rotate {
        /// EdDSA (default) or ES256 for access tokens; RS256 for ID tokens only.
        #[arg(long, default_value = "EdDSA")]
        algorithm: String,
        /// Seconds between publishing the key in the JWKS and signing with it: at least the
        /// JWKS cache age (300 s) plus the keyring reload interval (300 s).
        #[arg(long, default_value_t = 900)]
        publish_ahead_secs: u64,
        /// Longest access-token lifetime in minutes (XECURE_ACCESS_TOKEN_MINUTES).
        #[arg(long, default_value_t = 10)]
        token_minutes: u64,
    },
    /// List the signing keys and their state.
    List,
}

fn state(key: &SigningKey, now: xecure::domain::Timestamp) -> &'static str {
    match key.retire_at {
        Some(retire_at) if retire_at.has_passed(now) => "retired",
        Some(_) => "retiring (verifies only)",
        None if key.signs_from.has_passed(now) => "signing",
        None => "published (signs later)",
    }
}

pub async fn run(command: KeysCommand, target: &Target) -> Result<(), String> {
    let now = target.clock.now();
    match command {
        KeysCommand::Rotate {
            algorithm,
            publish_ahead_secs,
            token_minutes,
        } => {
            let algorithm = SigningAlgorithm::parse(&algorithm).map_err(|e| e.to_string())?;
            let sealer = target
                .sealer
                .as_ref()
                .ok_or("a DynamoDB target needs --kms-key-id to seal signing keys")?;
            // Old keys stay published for the longest token lifetime plus clock leeway, plus
            // the keyring reload: a warm container may sign with the old key that long after
            // the switch.
            let old_tokens_live = Duration::from_secs(
                token_minutes * 60 + 60 + xecure::signing::KEYRING_RELOAD.as_secs(),
            );
            let existing = target
                .store
                .list_signing_keys()
                .await
                .map_err(|e| e.to_string())?;
            // A store with no key yet has served no JWKS: the ID token key created with the
            // first access-token key may sign at once too.
            let first_keys = existing.is_empty();
            let has_access_key = existing.iter().any(|key| {
                SigningAlgorithm::parse(&key.algorithm).is_ok_and(|a| a.signs_access_tokens())
            });
            if !algorithm.signs_access_tokens() && !has_access_key {
                return Err(
                    "create the access-token key first (`xecure keys rotate`, which also creates the RS256 key)"
                        .into(),
                );
            }
            let key = rotate_signing_key(
                target.store.as_ref(),
                sealer.as_ref(),
                &OsRng,
                algorithm,
                now,
                Duration::from_secs(publish_ahead_secs),
                old_tokens_live,
            )
            .await
            .map_err(|e| e.to_string())?;
            let mut created = vec![key];
            // ID tokens need an RS256 key (OIDC Core section 15.1): the first rotation
            // creates one beside the access-token key.
            created.extend(
                ensure_id_token_key(
                    target.store.as_ref(),
                    sealer.as_ref(),
                    &OsRng,
                    now,
                    if first_keys {
                        Duration::ZERO
                    } else {
                        Duration::from_secs(publish_ahead_secs)
                    },
                    old_tokens_live,
                )
                .await
                .map_err(|e| e.to_string())?,
            );
            for key in created {
                let draft = AuditDraft::new(AuditEventKind::KeyRotated, AuditOutcome::Success)
                    .detail("kid", key.kid.to_string())
                    .detail("algorithm", key.algorithm.clone());
                target.audit(draft).await;
                say!(
                    "created {} key {} in {}; signs from {}",
                    key.algorithm,
                    key.kid,
                    target.description,
                    rfc3339(key.signs_from)
                );
            }
            Ok(())
        }
        KeysCommand::List => {
            let mut keys = target
                .store
                .list_signing_keys()
                .await
                .map_err(|e| e.to_string())?;
            keys.sort_by_key(|key| key.created_at);
            say!(
                "{:<40} {:<6} {:<29} {:<29} {:<29} state",
                "kid",
                "alg",
                "created",
                "signs_from",
                "retire_at"
            );
            for key in &keys {
                let retire = key.retire_at.map(rfc3339).unwrap_or_else(|| "-".into());
                say!(
                    "{:<40} {:<6} {:<29} {:<29} {:<29} {}",
                    key.kid,
                    key.algorithm,
                    rfc3339(key.created_at),
                    rfc3339(key.signs_from),
                    retire,
                    state(key, now)
                );
            }
            Ok(())
        }
    }
}
