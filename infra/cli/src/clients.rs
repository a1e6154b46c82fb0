use crate::target::Target;
use clap::Subcommand;
use std::collections::BTreeSet;
use std::time::Duration;
use xecure::audit::AuditDraft;
use xecure::domain::{
    AuditEventKind, AuditOutcome, Client, ClientId, ClientKind, ClientSecret, EventId, GrantType,
    RedirectUri, Revocation, RevocationTarget, Scope, SecretHash,
};
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
    /// Remove a client.
    Remove { id: String },
}

/// Longest access-token lifetime that can be configured here, plus leeway: how long a
/// client revocation entry must last.
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
            // Tokens already issued to the client stop at the gateway through the revocation
            // list, for as long as any of them can live.
            let now = SystemClock.now();
            let revocation = Revocation {
                id: EventId::generate(&OsRng),
                at: now,
                target: RevocationTarget::Client(id.clone()),
                expires_at: now.plus(MAX_TOKEN_LIFETIME),
            };
            target
                .store
                .put_revocation(&revocation)
                .await
                .map_err(|e| e.to_string())?;
            target
                .audit(
                    AuditDraft::new(AuditEventKind::ClientRemoved, AuditOutcome::Success)
                        .client(&id),
                )
                .await;
            println!("removed client {id}; its access tokens are revoked");
            Ok(())
        }
    }
}
