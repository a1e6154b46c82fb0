//! `xecure client`: register, list, show, update, verify, disable and remove OAuth clients,
//! and issue initial access tokens for dynamic registration.

mod change;

use crate::output::say;
use crate::target::Target;
use clap::Subcommand;
use std::collections::BTreeSet;
use std::time::Duration;
use xecure::audit::AuditDraft;
use xecure::domain::{
    AuditEventKind, AuditOutcome, AuthMethod, Client, ClientId, ClientKind, ClientSecret,
    GrantType, InitialAccessToken, OpaqueToken, OpenIdSettings, RedirectUri, Scope, SecretHash,
};
use xecure::oauth::client_change::grant_names;
use xecure::oauth::registration::{check_scopes_without_user, checked_redirect_uri, HttpRedirects};
use xecure::ports::OsRng;
use xecure::scopes::ScopeCatalogue;
use xecure::signing::SigningAlgorithm;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once and stored hashed.
    Add {
        id: String,
        /// Shown to users on the consent screen.
        #[arg(long)]
        name: String,
        /// Exact redirect URI (repeatable): https, or http on a loopback IP (the rules of
        /// dynamic registration). A client_credentials-only client needs none.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Also accept http redirect URIs on any host (a development client; never for
        /// production: codes would travel unencrypted).
        #[arg(long)]
        allow_http_redirect: bool,
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
        /// How a confidential client authenticates: client_secret_basic (default),
        /// client_secret_post, or private_key_jwt (with --jwks or --jwks-uri). It must use exactly this
        /// method.
        #[arg(long, default_value = "client_secret_basic")]
        auth_method: String,
        /// A JSON file with the client's public keys (a JWK Set) for private_key_jwt
        /// (RFC 7523): its assertions are signed with one of them.
        #[arg(long, conflicts_with = "jwks_uri")]
        jwks: Option<std::path::PathBuf>,
        /// Or the https URL where the client publishes that JWK Set (RFC 7591 `jwks_uri`):
        /// the token function fetches it, keeps it 5 minutes, and again when an assertion
        /// names a key it lacks (at most every 30 s).
        #[arg(long)]
        jwks_uri: Option<String>,
        #[command(flatten)]
        openid: OpenIdArgs,
        /// Refuse the client's token requests without a DPoP proof, so every token it gets
        /// is bound to its key (RFC 9449 `dpop_bound_access_tokens`).
        #[arg(long)]
        dpop_bound_access_tokens: bool,
        /// Take the client's authorization requests only through /par (RFC 9126
        /// `require_pushed_authorization_requests`).
        #[arg(long)]
        require_pushed_authorization_requests: bool,
    },
    /// List registered clients: kind, state, grant types, redirect URIs, scopes.
    List,
    /// Show one client as JSON (never its secret, which is not stored).
    Show { id: String },
    #[command(flatten)]
    Change(change::ChangeCommand),
    /// Issue an initial access token for dynamic client registration (POST /register,
    /// RFC 7591). Printed once; only its SHA-256 is stored.
    RegistrationToken {
        /// Hours until it expires.
        #[arg(long, default_value_t = 24)]
        hours: u64,
    },
}

async fn list(target: &Target) -> Result<(), String> {
    let mut clients = target
        .store
        .list_clients()
        .await
        .map_err(|e| e.to_string())?;
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    say!(
        "{:<24} {:<12} {:<19} {:<24} {:<44} {:<32} scopes",
        "id",
        "kind",
        "state",
        "name",
        "grants",
        "redirect URIs"
    );
    for client in clients {
        let kind = if client.is_public() {
            "public"
        } else {
            "confidential"
        };
        let state = match (client.disabled, client.verified) {
            (true, _) => "disabled",
            (false, true) => "enabled",
            (false, false) => "enabled, unverified",
        };
        let redirects: Vec<&str> = client.redirect_uris.iter().map(|u| u.as_str()).collect();
        say!(
            "{:<24} {:<12} {:<19} {:<24} {:<44} {:<32} {}",
            client.id,
            kind,
            state,
            client.display_name,
            grant_names(&client),
            if redirects.is_empty() {
                "-".into()
            } else {
                redirects.join(" ")
            },
            client.allowed_scopes
        );
    }
    Ok(())
}

/// Longest-lived initial access token: a month.
const MAX_REGISTRATION_TOKEN_HOURS: u64 = 31 * 24;

pub(crate) fn parse_grants(raw: &[String], public: bool) -> Result<BTreeSet<GrantType>, String> {
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

/// `raw` as scopes of the catalogue; a scope outside it could never be granted (every
/// authorization request for it is refused with invalid_scope).
pub(crate) fn catalogue_scopes(raw: &str, catalogue: &ScopeCatalogue) -> Result<Scope, String> {
    let scope = Scope::parse(raw).map_err(|e| e.to_string())?;
    let unknown: Vec<&str> = scope.iter().filter(|s| !catalogue.knows(s)).collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown scope {} (the catalogue is infra/scopes.toml)",
            unknown.join(" ")
        ));
    }
    Ok(scope)
}

/// The redirect URIs, by the one check dynamic registration uses too (security rules 1, 20);
/// http on any host only when the operator asked for it.
/// OpenID Connect settings of an operator-added client (the OIDC registration metadata).
#[derive(clap::Args)]
pub struct OpenIdArgs {
    /// Where the end session endpoint may send the browser after signing out (repeatable,
    /// matched exactly; RP-Initiated Logout 1.0). Same rules as --redirect-uri.
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// ID token signing algorithm: RS256 (default, OIDC Core section 15.1), EdDSA or ES256.
    #[arg(long)]
    id_token_alg: Option<String>,
    /// Refuse OpenID Connect requests without a nonce.
    #[arg(long)]
    require_nonce: bool,
    /// Seconds after which a sign-in is too old for this client (OIDC `default_max_age`).
    #[arg(long)]
    default_max_age: Option<u64>,
}

impl OpenIdArgs {
    fn settings(&self, allow_http_redirect: bool) -> Result<OpenIdSettings, String> {
        let id_token_signed_response_alg = match &self.id_token_alg {
            None => None,
            Some(raw) => Some(
                SigningAlgorithm::parse(raw)
                    .map_err(|e| e.to_string())?
                    .jws_name()
                    .to_owned(),
            ),
        };
        Ok(OpenIdSettings {
            id_token_signed_response_alg,
            post_logout_redirect_uris: redirect_uris(
                &self.post_logout_redirect_uris,
                allow_http_redirect,
            )?,
            require_auth_time: false,
            default_max_age: self.default_max_age,
            require_nonce: self.require_nonce,
        })
    }
}

/// The JWK Set of `--jwks` or the URL of `--jwks-uri`, one required for and only taken with
/// private_key_jwt, checked as dynamic registration checks them. The operator may name a
/// loopback URL (a local run); the token function still fetches only from the addresses its
/// own configuration allows (`XECURE_JWKS_URI_LOOPBACK`).
fn client_keys(
    method: AuthMethod,
    path: Option<&std::path::Path>,
    uri: Option<&str>,
) -> Result<(Option<serde_json::Value>, Option<String>), String> {
    match (method, path, uri) {
        (AuthMethod::PrivateKeyJwt, Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--jwks {}: {e}", path.display()))?;
            let jwks: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("--jwks {}: not JSON: {e}", path.display()))?;
            xecure::oauth::client_assertion::check_client_jwks(&jwks)
                .map_err(|why| format!("--jwks {}: {why}", path.display()))?;
            Ok((Some(jwks), None))
        }
        (AuthMethod::PrivateKeyJwt, None, Some(uri)) => {
            let url = xecure::oauth::client_keys::address::check_jwks_uri(
                uri,
                xecure::config::RemoteHosts::LoopbackToo,
            )
            .map_err(|why| format!("--jwks-uri: {why}"))?;
            Ok((None, Some(url.to_string())))
        }
        (AuthMethod::PrivateKeyJwt, None, None) => Err(
            "--auth-method private_key_jwt needs --jwks FILE or --jwks-uri URL (the client's public keys)"
                .into(),
        ),
        (AuthMethod::PrivateKeyJwt, Some(_), Some(_)) => {
            Err("give --jwks or --jwks-uri, not both".into())
        }
        (_, None, None) => Ok((None, None)),
        _ => Err("--jwks and --jwks-uri are only for --auth-method private_key_jwt".into()),
    }
}

pub(crate) fn redirect_uris(
    raw: &[String],
    allow_http_redirect: bool,
) -> Result<Vec<RedirectUri>, String> {
    let http = if allow_http_redirect {
        HttpRedirects::AnyHost
    } else {
        HttpRedirects::LoopbackOnly
    };
    raw.iter()
        .map(|raw| checked_redirect_uri(raw, http).map_err(|e| e.description))
        .collect()
}

/// What registration checks too: a client_credentials-only client gets only scopes that may
/// be held with no user, and a code-flow client needs somewhere to send codes.
pub(crate) fn check_shape(client: &Client, catalogue: &ScopeCatalogue) -> Result<(), String> {
    check_scopes_without_user(&client.grant_types, &client.allowed_scopes, catalogue)
        .map_err(|e| e.description)?;
    if client.allows_grant(GrantType::AuthorizationCode) && client.redirect_uris.is_empty() {
        return Err("a client of the authorization code flow needs --redirect-uri".into());
    }
    Ok(())
}

pub async fn run(command: ClientCommand, target: &Target) -> Result<(), String> {
    match command {
        ClientCommand::Add {
            id,
            name,
            redirect_uris: uris,
            allow_http_redirect,
            scope,
            default_scope,
            public,
            grants,
            auth_method,
            jwks,
            jwks_uri,
            openid,
            dpop_bound_access_tokens,
            require_pushed_authorization_requests,
        } => {
            let id = ClientId::parse(&id).map_err(|e| e.to_string())?;
            let openid = openid.settings(allow_http_redirect)?;
            if target
                .store
                .get_client(&id)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(format!("client {id} already exists"));
            }
            let catalogue = ScopeCatalogue::from_env().map_err(|e| e.to_string())?;
            let allowed_scopes = catalogue_scopes(&scope, &catalogue)?;
            let default_scopes = match default_scope {
                Some(raw) => Scope::parse(&raw).map_err(|e| e.to_string())?,
                None => allowed_scopes.clone(),
            };
            if !default_scopes.is_subset_of(&allowed_scopes) {
                return Err("--default-scope must be within --scope".into());
            }
            let auth_method = match (public, AuthMethod::parse(&auth_method)) {
                (true, _) => AuthMethod::None,
                (false, Some(method)) if !method.is_public() => method,
                _ => {
                    return Err(
                        "--auth-method must be client_secret_basic, client_secret_post or private_key_jwt"
                            .into(),
                    )
                }
            };
            let (jwks, jwks_uri) = client_keys(auth_method, jwks.as_deref(), jwks_uri.as_deref())?;
            let secret = (!public).then(|| ClientSecret::generate(&OsRng));
            // A private_key_jwt client authenticates with its keys: its secret is never
            // shown, and its method refuses any secret (rule 21).
            let shown = secret
                .as_ref()
                .filter(|_| auth_method != AuthMethod::PrivateKeyJwt);
            let kind = match &secret {
                Some(secret) => ClientKind::Confidential {
                    secret_hash: SecretHash::of(secret),
                },
                None => ClientKind::Public,
            };
            let client = Client {
                redirect_uris: redirect_uris(&uris, allow_http_redirect)?,
                allowed_scopes,
                default_scopes,
                grant_types: parse_grants(&grants, public)?,
                auth_method: Some(auth_method),
                openid,
                dpop_bound_access_tokens,
                require_pushed_authorization_requests,
                jwks,
                jwks_uri,
                ..Client::new(id, name, kind, target.clock.now())
            };
            check_shape(&client, &catalogue)?;
            target
                .store
                .put_client(&client)
                .await
                .map_err(|e| e.to_string())?;
            target
                .audit(
                    AuditDraft::new(AuditEventKind::ClientRegistered, AuditOutcome::Success)
                        .client(&client.id)
                        .detail("by", "operator"),
                )
                .await;
            say!("registered client {} in {}", client.id, target.description);
            if let Some(secret) = shown {
                say!("client_secret: {}", secret.secret());
                say!("(shown once: only its hash is stored)");
            }
            Ok(())
        }
        ClientCommand::List => list(target).await,
        ClientCommand::Show { id } => {
            let id = ClientId::parse(&id).map_err(|e| e.to_string())?;
            let client = target
                .store
                .get_client(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no client {id}"))?;
            say!(
                "{}",
                serde_json::to_string_pretty(&client).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        ClientCommand::Change(change) => change::run(change, target).await,
        ClientCommand::RegistrationToken { hours } => {
            if hours == 0 || hours > MAX_REGISTRATION_TOKEN_HOURS {
                return Err(format!(
                    "--hours must be 1 to {MAX_REGISTRATION_TOKEN_HOURS}"
                ));
            }
            let token = OpaqueToken::generate(&OsRng);
            let now = target.clock.now();
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
            target
                .audit(
                    AuditDraft::new(
                        AuditEventKind::RegistrationTokenIssued,
                        AuditOutcome::Success,
                    )
                    .detail("expires_at", expires_at.rfc3339()),
                )
                .await;
            say!("initial_access_token: {}", token.secret());
            say!(
                "(shown once: only its hash is stored; valid for {hours} h, until {})",
                crate::local_time::rfc3339(expires_at)
            );
            say!("use it as: Authorization: Bearer <token> on POST /register");
            Ok(())
        }
    }
}
