//! First start of `xecure serve`: a signing key, a demo user, a demo app and a demo service,
//! each created once; secrets are printed only when they are created.

use crate::target::Target;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Duration;
use xecure::domain::{
    Client, ClientId, ClientKind, ClientSecret, GrantType, OpaqueToken, OpenIdSettings, Password,
    PasswordHash, RedirectUri, Scope, SecretHash, User, UserId, UserProfile, Username,
};
use xecure::ports::{Clock, OsRng, StoreError, SystemClock};
use xecure::signing::{ensure_id_token_key, rotate_signing_key, SigningAlgorithm};

pub const DEMO_APP: &str = "demo-app";
pub const DEMO_SERVICE: &str = "demo-service";
pub const DEMO_USER: &str = "demo";

fn failed(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Creates what is missing and returns how to try the system.
pub async fn ensure_demo_setup(target: &Target, issuer: &str) -> Result<String, String> {
    let store = target.store.as_ref();
    let now = SystemClock.now();
    let mut out = String::new();
    if store.list_signing_keys().await.map_err(failed)?.is_empty() {
        let sealer = target
            .sealer
            .as_ref()
            .ok_or("no signing key yet and no key sealer: pass --kms-key-id")?;
        let key = rotate_signing_key(
            store,
            sealer.as_ref(),
            &OsRng,
            SigningAlgorithm::EdDsa,
            now,
            Duration::ZERO,
            Duration::from_secs(11 * 60),
        )
        .await
        .map_err(failed)?;
        let _ = writeln!(out, "created signing key {}", key.kid);
    }
    if let Some(sealer) = &target.sealer {
        // Signs at once: on a first start nothing has read the JWKS yet; on a data directory
        // from before ID tokens, a relying party with an older JWKS reads it again on the
        // unknown kid (openid-client and jose do), and the local server is no deployment.
        if let Some(key) = ensure_id_token_key(
            store,
            sealer.as_ref(),
            &OsRng,
            now,
            Duration::ZERO,
            Duration::from_secs(11 * 60),
        )
        .await
        .map_err(failed)?
        {
            let _ = writeln!(out, "created ID token signing key {} (RS256)", key.kid);
        }
    }
    let scopes = Scope::parse("openid profile email profile:read orders:read orders:write")
        .map_err(failed)?;
    let app = ClientId::parse(DEMO_APP).map_err(failed)?;
    if store.get_client(&app).await.map_err(failed)?.is_none() {
        store
            .put_client(&Client {
                redirect_uris: vec![
                    RedirectUri::parse(&format!("{issuer}/demo/callback")).map_err(failed)?
                ],
                allowed_scopes: scopes.clone(),
                default_scopes: Scope::parse("profile:read").map_err(failed)?,
                grant_types: BTreeSet::from([
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                ]),
                // RP-Initiated Logout: the demo app's "Sign out" returns to its start page.
                openid: OpenIdSettings {
                    post_logout_redirect_uris: vec![
                        RedirectUri::parse(&format!("{issuer}/demo")).map_err(failed)?
                    ],
                    ..OpenIdSettings::default()
                },
                ..Client::new(app, "Snapshot Prints", ClientKind::Public, now)
            })
            .await
            .map_err(failed)?;
        let _ = writeln!(
            out,
            "registered public client {DEMO_APP} (PKCE, redirect {issuer}/demo/callback)"
        );
    }
    let service = ClientId::parse(DEMO_SERVICE).map_err(failed)?;
    let service_exists = store.get_client(&service).await.map_err(failed)?.is_some();
    if !service_exists {
        let secret = ClientSecret::generate(&OsRng);
        store
            .put_client(&Client {
                redirect_uris: vec![
                    RedirectUri::parse(&format!("{issuer}/unused")).map_err(failed)?
                ],
                allowed_scopes: Scope::parse("orders:read").map_err(failed)?,
                default_scopes: Scope::parse("orders:read").map_err(failed)?,
                grant_types: BTreeSet::from([GrantType::ClientCredentials]),
                ..Client::new(
                    service,
                    "Demo Service",
                    ClientKind::Confidential {
                        secret_hash: SecretHash::of(&secret),
                    },
                    now,
                )
            })
            .await
            .map_err(failed)?;
        let _ = writeln!(
            out,
            "registered confidential client {DEMO_SERVICE}, secret (shown once): {}",
            secret.secret()
        );
        let _ = writeln!(out, "\ntry it:\n  TOKEN=$(curl -s -u {DEMO_SERVICE}:{} -d grant_type=client_credentials {issuer}/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')", secret.secret());
        let _ = writeln!(
            out,
            "  curl -H \"Authorization: Bearer $TOKEN\" {issuer}/orders      # 200"
        );
        let _ = writeln!(out, "  curl -X POST -H \"Authorization: Bearer $TOKEN\" {issuer}/orders   # 403: needs orders:write");
    }
    let username = Username::parse(DEMO_USER).map_err(failed)?;
    let user_exists = store
        .get_user_by_username(&username)
        .await
        .map_err(failed)?
        .is_some();
    // A restart shows no secret: say how to get new ones.
    let secrets_shown_before = service_exists || user_exists;
    if !user_exists {
        let password = OpaqueToken::generate(&OsRng).secret()[..16].to_owned();
        let user = User {
            // What the demo app shows after an OpenID Connect sign-in.
            profile: UserProfile {
                name: Some("Demo User".to_owned()),
                email: Some("demo@example.com".to_owned()),
                email_verified: true,
                updated_at: Some(now),
            },
            ..User::new(
                UserId::generate(&OsRng),
                username,
                PasswordHash::create(&Password::new(password.clone()), &OsRng).map_err(failed)?,
                now,
            )
        };
        match store.create_user(&user).await {
            Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        let _ = writeln!(
            out,
            "created user {DEMO_USER}, password (shown once): {password}"
        );
    }
    if secrets_shown_before {
        let _ = writeln!(out, "demo secrets were printed when they were created; new ones: xecure client new-secret {DEMO_SERVICE}, xecure user passwd {DEMO_USER} (while this server runs too)");
    }
    let _ = writeln!(out, "\nendpoints: {issuer}/authorize  {issuer}/token  {issuer}/.well-known/oauth-authorization-server");
    let _ = writeln!(
        out,
        "demo app: open {issuer}/demo in a browser and sign in as {DEMO_USER}"
    );
    let _ = writeln!(
        out,
        "connected apps: {issuer}/apps   client registration (RFC 7591): POST {issuer}/register with a token from `xecure client registration-token`"
    );
    let _ = write!(out, "protected demo API (infra/routes.toml): GET {issuer}/profile, GET|POST {issuer}/orders, GET|DELETE {issuer}/orders/{{id}}");
    Ok(out)
}

/// The plan the demo clients are put on when they have none (`xecure serve` enforces usage
/// plans as the template does by default).
pub const DEMO_PLAN: &str = "standard";

/// Puts each demo client that has no plan on `standard`; says what it did.
pub fn assign_demo_plans(path: &std::path::Path) -> Result<String, String> {
    super::per_app_limits::update_assignments(path, |assignments| {
        let mut out = String::new();
        for client in [DEMO_APP, DEMO_SERVICE] {
            if !assignments.contains_key(client) {
                assignments.insert(client.to_owned(), DEMO_PLAN.to_owned());
                let _ = write!(out, "\nusage plan: {client} is on {DEMO_PLAN}");
            }
        }
        Ok(out)
    })
}
