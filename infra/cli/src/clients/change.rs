//! Changing registered clients: update, verify, disable, remove, new secret. Each withdraws what it
//! takes away (security rule 16) and applies only over the version it read (rule 17).

use super::{catalogue_scopes, check_shape, parse_grants, redirect_uris};
use crate::output::say;
use crate::target::Target;
use clap::Subcommand;
use xecure::audit::AuditDraft;
use xecure::domain::{
    AuditEventKind, AuditOutcome, Client, ClientId, ClientKind, ClientSecret, Scope, SecretHash,
};
use xecure::oauth::client_change::grant_names;
use xecure::ports::OsRng;
use xecure::ports::StoreError;
use xecure::scopes::ScopeCatalogue;

#[derive(Subcommand)]
pub enum ChangeCommand {
    /// Change a client. A change that adds a redirect URI or changes scopes or grant types
    /// revokes every grant users gave it (users are asked again; its refresh tokens stop at
    /// once) and, if it loses scopes, stops its access tokens carrying them within 60 s.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// The complete new list of redirect URIs (repeatable; the rules of `client add`).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Also accept http redirect URIs on any host (development only).
        #[arg(long)]
        allow_http_redirect: bool,
        /// The new scopes, space-separated (default scopes are narrowed to fit).
        #[arg(long)]
        scope: Option<String>,
        /// The complete new list of grant types (repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
    },
    /// Vouch for a dynamically registered client: /authorize may then send errors to its
    /// redirect URIs before the user signs in (--undo withdraws it).
    Verify {
        id: String,
        #[arg(long)]
        undo: bool,
    },
    /// Disable a client: every endpoint treats it as unknown and its grants and tokens are
    /// revoked (users must consent again after --undo).
    Disable {
        id: String,
        /// Enable it again.
        #[arg(long)]
        undo: bool,
    },
    /// Remove a client: every grant users gave it and every token it holds is revoked.
    Remove { id: String },
    /// A new secret for a confidential client (printed once, stored hashed); the old one
    /// stops working. How to recover the demo service's secret after `serve` printed it.
    NewSecret { id: String },
}

async fn existing(target: &Target, id: &str) -> Result<Client, String> {
    let id = ClientId::parse(id).map_err(|e| e.to_string())?;
    target
        .store
        .get_client(&id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no client {id}"))
}

fn conflict_or(error: StoreError) -> String {
    match error {
        StoreError::Conflict(what) => format!("{what} changed meanwhile; run the command again"),
        other => other.to_string(),
    }
}

/// Stores `after` over `before` (version-checked), auditing the change. A disable or enable
/// also starts a new revision: codes and refresh tokens issued before it stay refused.
async fn store_change(
    target: &Target,
    before: &Client,
    after: Client,
    what: &str,
) -> Result<(), String> {
    let client = Client {
        version: before.version + 1,
        ..after
    };
    if !target
        .store
        .update_client(&client)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!(
            "client {} changed meanwhile; run the command again",
            client.id
        ));
    }
    let draft = AuditDraft::new(AuditEventKind::ClientChanged, AuditOutcome::Success)
        .client(&client.id)
        .detail("by", "operator")
        .detail("change", what);
    target.audit(draft).await;
    Ok(())
}

pub async fn run(command: ChangeCommand, target: &Target) -> Result<(), String> {
    let auditor = target.auditor();
    let context = target.context().await;
    let revoker = target.revoker(&auditor, &context);
    match command {
        ChangeCommand::Update {
            id,
            name,
            redirect_uris: uris,
            allow_http_redirect,
            scope,
            grants,
        } => {
            let before = existing(target, &id).await?;
            let catalogue = ScopeCatalogue::from_env().map_err(|e| e.to_string())?;
            let mut after = before.clone();
            if let Some(name) = name {
                after.display_name = name;
            }
            if !uris.is_empty() {
                after.redirect_uris = redirect_uris(&uris, allow_http_redirect)?;
            }
            if let Some(raw) = scope {
                after.allowed_scopes = catalogue_scopes(&raw, &catalogue)?;
                after.default_scopes = after.default_scopes.intersection(&after.allowed_scopes);
                if after.default_scopes == Scope::default() {
                    after.default_scopes = after.allowed_scopes.clone();
                }
            }
            if !grants.is_empty() {
                after.grant_types = parse_grants(&grants, after.is_public())?;
            }
            check_shape(&after, &catalogue)?;
            let changed = revoker
                .change_client(&before, after)
                .await
                .map_err(conflict_or)?;
            let client = &changed.client;
            if changed.material {
                say!(
                    "updated client {} (revision {}: grant types {}, scopes {}); revoked {} user grant(s): users are asked again",
                    client.id,
                    client.revision,
                    grant_names(client),
                    client.allowed_scopes,
                    changed.revoked_grants
                );
            } else {
                say!(
                    "updated client {}; nothing it was granted changed",
                    client.id
                );
            }
            Ok(())
        }
        ChangeCommand::Verify { id, undo } => {
            let before = existing(target, &id).await?;
            let after = Client {
                verified: !undo,
                ..before.clone()
            };
            store_change(
                target,
                &before,
                after,
                if undo { "unverified" } else { "verified" },
            )
            .await?;
            let state = if undo {
                "no longer verified"
            } else {
                "verified"
            };
            say!("client {id} is {state}");
            Ok(())
        }
        ChangeCommand::Disable { id, undo } => {
            let before = existing(target, &id).await?;
            if before.disabled != undo {
                let state = if undo { "enabled" } else { "disabled" };
                say!("client {id} is already {state}; nothing changed");
                return Ok(());
            }
            // Withdraw first, then switch off: a failure part-way leaves the client as it
            // was, and running the command again finishes the job.
            let revoked = if undo {
                0
            } else {
                revoker
                    .revoke_client(&before.id)
                    .await
                    .map_err(|e| e.to_string())?
            };
            let after = Client {
                disabled: !undo,
                revision: before.revision + 1,
                ..before.clone()
            };
            store_change(
                target,
                &before,
                after,
                if undo { "enabled" } else { "disabled" },
            )
            .await?;
            if undo {
                say!("enabled client {id}; users must consent again");
            } else {
                say!(
                    "disabled client {id}; revoked {revoked} user grant(s), its refresh tokens and its access tokens"
                );
            }
            Ok(())
        }
        ChangeCommand::Remove { id } => {
            let id = existing(target, &id).await?.id;
            // Withdraw first, then delete (as disable does): repeatable after a failure.
            let revoked = revoker
                .revoke_client(&id)
                .await
                .map_err(|e| e.to_string())?;
            if !target
                .store
                .delete_client(&id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no client {id}"));
            }
            target
                .audit(
                    AuditDraft::new(AuditEventKind::ClientRemoved, AuditOutcome::Success)
                        .client(&id)
                        .detail("by", "operator"),
                )
                .await;
            say!(
                "removed client {id}; revoked {revoked} user grant(s), its refresh tokens and its access tokens"
            );
            Ok(())
        }
        ChangeCommand::NewSecret { id } => {
            let before = existing(target, &id).await?;
            if before.is_public() {
                return Err(format!(
                    "client {id} is public: it has no secret (PKCE only)"
                ));
            }
            let secret = ClientSecret::generate(&OsRng);
            let after = Client {
                kind: ClientKind::Confidential {
                    secret_hash: SecretHash::of(&secret),
                },
                ..before.clone()
            };
            store_change(target, &before, after, "new secret").await?;
            say!("client_secret: {}", secret.secret());
            say!("(shown once: only its hash is stored; the old secret stops within the 60 s client cache of running functions, at once in a serve this command ran beside)");
            Ok(())
        }
    }
}
