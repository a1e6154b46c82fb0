//! Dynamic client registration: RFC 7591 `POST /register`, guarded by an initial access token
//! an operator issued (`xecure client registration-token`), and RFC 7592 read, update and
//! delete of each registration at its `registration_client_uri` with the registration
//! access token. Registered clients are third-party: users are always asked for consent
//! (security rule 14), and their redirect URIs follow `redirect::registrable_redirect_uri`.

mod manage;
mod metadata;
mod redirect;

pub use metadata::{check_scopes_without_user, AuthMethod, ClientMetadata};
pub use redirect::{checked_redirect_uri, registrable_redirect_uri, HttpRedirects};

use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{
    AuditEventKind, AuditOutcome, Client, ClientId, ClientKind, ClientRegistration, ClientSecret,
    OpaqueToken, SecretHash, Timestamp, TokenDigest,
};
use crate::oauth::bearer::bearer_token;
use crate::oauth::metadata::REGISTER_PATH;
use crate::oauth::Dependencies;
use crate::oauth::{ErrorCode, OAuthError};
use crate::ports::TokenFunctionStore;
use metadata::SentMetadata;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Longest registration request body accepted.
const MAX_BODY: usize = 64 * 1024;

/// Fields a client must not send in an update (RFC 7592 section 2.2): the server sets them.
const SERVER_FIELDS: [&str; 4] = [
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
];

/// Registration changes drop the client from `deps.clients`, the process's client cache: a
/// rotated secret stops working in this container at once, in the others within the cache's
/// minute.
pub struct Registrar {
    deps: Dependencies,
    /// Registration runs in the token function: its capability.
    store: Arc<dyn TokenFunctionStore>,
}

fn invalid_token(why: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, why)
}

/// The JSON object of a request body; anything else is `invalid_client_metadata`.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, OAuthError> {
    let invalid = |why: String| OAuthError::new(ErrorCode::InvalidClientMetadata, why);
    if body.len() > MAX_BODY {
        return Err(invalid(format!("the body is larger than {MAX_BODY} bytes")));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(invalid(
            "the body must be a JSON object of client metadata".into(),
        )),
        Err(e) => Err(invalid(format!("the body is not valid JSON: {e}"))),
    }
}

impl Registrar {
    pub fn new(deps: Dependencies, store: Arc<dyn TokenFunctionStore>) -> Self {
        Registrar { deps, store }
    }

    fn checked(&self, object: Map<String, Value>) -> Result<ClientMetadata, OAuthError> {
        let sent: SentMetadata = serde_json::from_value(Value::Object(object)).map_err(|e| {
            OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                format!("client metadata: {e}"),
            )
        })?;
        ClientMetadata::check(sent, &self.deps.catalogue, self.deps.config.jwks_uri_hosts)
    }

    /// `POST /register` (RFC 7591 section 3.1): 201 with the client information response.
    pub async fn register(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        context: &RequestContext,
    ) -> Result<Value, OAuthError> {
        // RFC 7591 section 3: registration is protected by an initial access token.
        let presented = bearer_token(authorization).map_err(|_| {
            invalid_token("an initial access token is required: Authorization: Bearer <token>")
        })?;
        let now = self.deps.clock.now();
        if self
            .store
            .get_initial_access_token(&TokenDigest::of(presented), now)
            .await?
            .is_none()
        {
            return Err(invalid_token(
                "the initial access token is unknown or expired",
            ));
        }
        let metadata = self.checked(json_object(body)?)?;
        let access_token = OpaqueToken::generate(self.deps.rng.as_ref());
        let (kind, secret) = self.credentials(&metadata);
        let id = ClientId::generate(self.deps.rng.as_ref());
        let client = Client {
            registration: Some(self.registration(&access_token, now)),
            ..metadata.applied_to(Client::new(id, "", kind, now))
        };
        self.store.put_client(&client).await?;
        self.audit(AuditEventKind::ClientRegistered, &client, context)
            .await;
        Ok(self.information(&client, secret.as_ref(), &access_token))
    }

    /// A confidential client gets a fresh secret, shown once and stored hashed; a
    /// `private_key_jwt` client authenticates with its keys only: the hash is of a secret
    /// nobody is shown (and its registered method refuses any secret anyway, rule 21).
    fn credentials(&self, metadata: &ClientMetadata) -> (ClientKind, Option<ClientSecret>) {
        if metadata.auth_method.is_public() {
            return (ClientKind::Public, None);
        }
        let secret = ClientSecret::generate(self.deps.rng.as_ref());
        let kind = ClientKind::Confidential {
            secret_hash: SecretHash::of(&secret),
        };
        let shown = (metadata.auth_method != AuthMethod::PrivateKeyJwt).then_some(secret);
        (kind, shown)
    }

    /// A registration access token's record: its digest and when it stops working.
    fn registration(&self, token: &OpaqueToken, now: Timestamp) -> ClientRegistration {
        ClientRegistration {
            access_token: token.digest(),
            access_token_expires_at: Some(now.plus(self.deps.config.registration_token_ttl)),
        }
    }

    async fn audit(&self, kind: AuditEventKind, client: &Client, context: &RequestContext) {
        let method = client.token_endpoint_auth_method().as_str();
        self.deps
            .auditor
            .record(
                AuditDraft::new(kind, AuditOutcome::Success)
                    .client(&client.id)
                    .detail("via", "registration_endpoint")
                    .detail("scope", client.allowed_scopes.to_string())
                    .detail("token_endpoint_auth_method", method),
                context,
            )
            .await;
    }

    /// The client information response (RFC 7591 section 3.2.1, RFC 7592 section 3).
    fn information(
        &self,
        client: &Client,
        secret: Option<&ClientSecret>,
        access_token: &OpaqueToken,
    ) -> Value {
        let method = client.token_endpoint_auth_method().as_str();
        let mut answer = json!({
            "client_id": client.id.as_str(),
            "client_id_issued_at": client.created_at.as_secs(),
            "registration_access_token": access_token.secret(),
            "registration_client_uri": format!(
                "{}/{}",
                self.deps.config.endpoint(REGISTER_PATH),
                client.id
            ),
            "client_name": client.display_name,
            "redirect_uris": client.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "token_endpoint_auth_method": method,
            "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "response_types": if client.allows_grant(crate::domain::GrantType::AuthorizationCode) {
                vec!["code"]
            } else {
                Vec::new()
            },
            "scope": client.allowed_scopes.to_string(),
        });
        for (field, value) in [
            ("logo_uri", &client.links.logo_uri),
            ("policy_uri", &client.links.policy_uri),
            ("tos_uri", &client.links.tos_uri),
        ] {
            if let Some(value) = value {
                answer[field] = json!(value);
            }
        }
        let openid = &client.openid;
        answer["id_token_signed_response_alg"] =
            json!(crate::signing::SigningAlgorithm::for_id_tokens_of(client).jws_name());
        answer["subject_type"] = json!("public");
        if !openid.post_logout_redirect_uris.is_empty() {
            answer["post_logout_redirect_uris"] = json!(openid
                .post_logout_redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>());
        }
        if openid.require_auth_time {
            answer["require_auth_time"] = json!(true);
        }
        if let Some(max_age) = openid.default_max_age {
            answer["default_max_age"] = json!(max_age);
        }
        if client.dpop_bound_access_tokens {
            answer["dpop_bound_access_tokens"] = json!(true);
        }
        if let Some(jwks) = &client.jwks {
            answer["jwks"] = jwks.clone();
        }
        if let Some(jwks_uri) = &client.jwks_uri {
            answer["jwks_uri"] = json!(jwks_uri);
        }
        if client.require_pushed_authorization_requests {
            answer["require_pushed_authorization_requests"] = json!(true);
        }
        if !client.is_public() && client.token_endpoint_auth_method() != AuthMethod::PrivateKeyJwt {
            // "REQUIRED if client_secret is issued": 0 means it does not expire.
            answer["client_secret_expires_at"] = json!(0);
        }
        if let Some(secret) = secret {
            answer["client_secret"] = json!(secret.secret());
        }
        // Not in RFC 7592 (section 3 lets a server add fields): when the registration access
        // token stops working; an update returns a new one.
        if let Some(expires) = client
            .registration
            .as_ref()
            .and_then(|r| r.access_token_expires_at)
        {
            answer["registration_access_token_expires_at"] = json!(expires.as_secs());
        }
        answer
    }
}
