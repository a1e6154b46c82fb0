use crate::target::Target;
use clap::Subcommand;
use std::collections::BTreeSet;
use std::time::Duration;
use xecure::audit::AuditDraft;
use xecure::domain::{
    AuditEventKind, AuditOutcome, Client, ClientId, ClientKind, ClientSecret, GrantType,
    InitialAccessToken, OpaqueToken, RedirectUri, Scope, SecretHash,
};
use xecure::oauth::access_revocation::AccessRevoker;
use xecure::ports::{Clock, OsRng, SystemClock};
use xecure::scopes::ScopeCatalogue;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once and stored hashed.
    Add {
        #[arg(long)]
        id: String,
        /// Shown to users on the consent screen.
        #[arg(long)]
        name: String,
        /// Exact redirect URI (repeatable).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Scopes the client may ask for, space-separated.
        #[arg(long)]
        scope: String,
        /// Scopes used when a request names none (default: all of --scope).
        #[arg(long)]
        default_scope: Option<String>,
        /// A public client (native or browser app): no secret, PKCE only.
        #[arg(long)]
        public: bool,
        /// Grant types (repeatable): authorization_code, refresh_token, client_credentials.
        #[arg(long = "grant", default_values_t = ["authorization_code".to_owned(), "refresh_token".to_owned()])]
        grants: Vec<String>,
    },
    /// List registered clients.
    List,
    /// Show one client as JSON (never its secret, which is not stored).
    Show { id: String },
    /// Remove a client: every grant users gave it and every token it holds is revoked.
    Remove { id: String },
    /// Disable a client: every endpoint treats it as unknown and its grants and tokens are
    /// revoked (users must consent again after --undo).
    Disable {
        id: String,
        /// Enable it again.
        #[arg(long)]
        undo: bool,
    },
    /// Issue an initial access token for dynamic client registration (POST /register,
    /// RFC 7591). Printed once; only its SHA-256 is stored.
    RegistrationToken {
        /// Hours until it expires.
        #[arg(long, default_value_t = 24)]
        hours: u64,
    },
}

/// Longest access-token lifetime a deployment may configure, plus leeway: how long the
/// revocation entries of a disabled or removed client must last (the CLI does not know the
/// deployed functions' settings).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

fn parse_grants(raw: &[String], public: bool) -> Result<BTreeSet<GrantType>, String> {
    let mut grants = BTreeSet::new();
    for name in raw {
        grants
            .insert(GrantType::parse(name).ok_or_else(|| format!("unknown grant type '{name}'"))?);
    }
    if public && grants.contains(&GrantType::ClientCredentials) {
        return Err("public clients cannot use client_credentials (RFC 6749 section 4.4)".into());
    }
    Ok(grants)
}

pub async fn run(command: ClientCommand, target: &Target) -> Result<(), String> {
    match command {
        ClientCommand::Add {
            id,
            name,
            redirect_uris,
            scope,
            default_scope,
            public,
            grants,
        } => {
            let id = ClientId::parse(&id).map_err(|e| e.to_string())?;
            if target
                .store
                .get_client(&id)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(format!("client {id} already exists"));
            }
            let allowed_scopes = Scope::parse(&scope).map_err(|e| e.to_string())?;
            // A scope outside the catalogue could never be granted: every authorization
            // request for it is refused with invalid_scope.
            let catalogue = ScopeCatalogue::from_env().map_err(|e| e.to_string())?;
            let unknown: Vec<&str> = allowed_scopes
                .iter()
                .filter(|s| !catalogue.knows(s))
                .collect();
            if !unknown.is_empty() {
                return Err(format!(
                    "unknown scope {} (the catalogue is infra/scopes.toml)",
                    unknown.join(" ")
                ));
            }
            let default_scopes = match default_scope {
                Some(raw) => Scope::parse(&raw).map_err(|e| e.to_string())?,
                None => allowed_scopes.clone(),
            };
            if !default_scopes.is_subset_of(&allowed_scopes) {
                return Err("--default-scope must be within --scope".into());
            }
            let redirect_uris = redirect_uris
                .iter()
                .map(|raw| RedirectUri::parse(raw).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let secret = (!public).then(|| ClientSecret::generate(&OsRng));
            let kind = match &secret {
                Some(secret) => ClientKind::Confidential {
                    secret_hash: SecretHash::of(secret),
                },
                None => ClientKind::Public,
            };
            let client = Client {
                id,
                display_name: name,
                kind,
                redirect_uris,
                allowed_scopes,
                default_scopes,
                grant_types: parse_grants(&grants, public)?,
                created_at: SystemClock.now(),
                disabled: false,
                registration: None,
            };
            target
                .store
                .put_client(&client)
                .await
                .map_err(|e| e.to_string())?;
            target
                .audit(
                    AuditDraft::new(AuditEventKind::ClientRegistered, AuditOutcome::Success)
                        .client(&client.id),
                )
                .await;
            println!("registered client {} in {}", client.id, target.description);
            if let Some(secret) = secret {
                println!("client_secret: {}", secret.secret());
                println!("(shown once: only its hash is stored)");
            }
            Ok(())
        }
        ClientCommand::List => {
            let mut clients = target
                .store
                .list_clients()
                .await
                .map_err(|e| e.to_string())?;
            clients.sort_by(|a, b| a.id.cmp(&b.id));
            for client in clients {
                let kind = if client.is_public() {
                    "public"
                } else {
                    "confidential"
                };
                println!(
                    "{:<32} {:<13} {:<24} {}",
                    client.id, kind, client.display_name, client.allowed_scopes
                );
            }
            Ok(())
        }
        ClientCommand::Show { id } => {
            let id = ClientId::parse(&id).map_err(|e| e.to_string())?;
            let client = target
                .store
                .get_client(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no client {id}"))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&client).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        ClientCommand::Remove { id } => {
            let id = ClientId::parse(&id).map_err(|e| e.to_string())?;
            if !target
                .store
                .delete_client(&id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no client {id}"));
            }
            let revoked = revoke_client_access(target, &id).await?;
            target
                .audit(
                    AuditDraft::new(AuditEventKind::ClientRemoved, AuditOutcome::Success)
                        .client(&id),
                )
                .await;
            println!(
                "removed client {id}; revoked {revoked} user grant(s), its refresh tokens and its access tokens"
            );
            Ok(())
        }
        ClientCommand::Disable { id, undo } => {
            let id = ClientId::parse(&id).map_err(|e| e.to_string())?;
            let mut client = target
                .store
                .get_client(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no client {id}"))?;
            client.disabled = !undo;
            target
                .store
                .put_client(&client)
                .await
                .map_err(|e| e.to_string())?;
            let revoked = if undo {
                0
            } else {
                revoke_client_access(target, &id).await?
            };
            target
                .audit(
                    AuditDraft::new(AuditEventKind::ClientChanged, AuditOutcome::Success)
                        .client(&id)
                        .detail("disabled", (!undo).to_string()),
                )
                .await;
            if undo {
                println!("enabled client {id}; users must consent again");
            } else {
                println!(
                    "disabled client {id}; revoked {revoked} user grant(s), its refresh tokens and its access tokens"
                );
            }
            Ok(())
        }
        ClientCommand::RegistrationToken { hours } => {
            if hours == 0 || hours > MAX_REGISTRATION_TOKEN_HOURS {
                return Err(format!(
                    "--hours must be 1 to {MAX_REGISTRATION_TOKEN_HOURS}"
                ));
            }
            let token = OpaqueToken::generate(&OsRng);
            let now = SystemClock.now();
            let expires_at = now.plus(Duration::from_secs(hours * 3600));
            target
                .store
                .put_initial_access_token(&InitialAccessToken {
                    digest: token.digest(),
                    created_at: now,
                    expires_at,
                })
                .await
                .map_err(|e| e.to_string())?;
            println!("initial_access_token: {}", token.secret());
            println!(
                "(shown once: only its hash is stored; valid for {hours} h, until {})",
                expires_at.rfc3339()
            );
            println!("use it as: Authorization: Bearer <token> on POST /register");
            Ok(())
        }
    }
}

/// Longest-lived initial access token: a month.
const MAX_REGISTRATION_TOKEN_HOURS: u64 = 31 * 24;

/// Revokes every grant users gave the client (so its refresh tokens stop at once) and puts a
/// client revocation entry (so the authorizer stops its access tokens within the bound).
async fn revoke_client_access(target: &Target, id: &ClientId) -> Result<usize, String> {
    let auditor = target.auditor();
    let context = Target::context();
    let revoker = AccessRevoker {
        store: target.store.as_ref(),
        auditor: &auditor,
        rng: &OsRng,
        now: SystemClock.now(),
        token_lifetime: MAX_TOKEN_LIFETIME,
        by: "operator",
        context: &context,
    };
    revoker.revoke_client(id).await.map_err(|e| e.to_string())
}
