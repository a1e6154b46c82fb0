//! Dynamic client registration: RFC 7591 `POST /register`, guarded by an initial access token
//! an operator issued (`xecure client registration-token`), and RFC 7592 read, update and
//! delete of each registration at its `registration_client_uri` with the registration
//! access token. Registered clients are third-party: users are always asked for consent
//! (security rule 14), and their redirect URIs follow `redirect::registrable_redirect_uri`.

mod metadata;
mod redirect;

pub use metadata::{AuthMethod, ClientMetadata};
pub use redirect::registrable_redirect_uri;

use crate::audit::{AuditDraft, Auditor, RequestContext};
use crate::config::OAuthConfig;
use crate::domain::secret::constant_time_eq;
use crate::domain::{
    AuditEventKind, AuditOutcome, Client, ClientId, ClientKind, ClientRegistration, ClientSecret,
    OpaqueToken, SecretHash, TokenDigest,
};
use crate::gateway::bearer::bearer_token;
use crate::oauth::access_revocation::AccessRevoker;
use crate::oauth::metadata::REGISTER_PATH;
use crate::oauth::token::LEEWAY;
use crate::oauth::{ErrorCode, OAuthError};
use crate::ports::{Clock, Rng, Store};
use crate::scopes::ScopeCatalogue;
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

pub struct Registrar {
    store: Arc<dyn Store>,
    catalogue: Arc<ScopeCatalogue>,
    config: OAuthConfig,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    auditor: Auditor,
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
    pub fn new(
        store: Arc<dyn Store>,
        catalogue: Arc<ScopeCatalogue>,
        config: OAuthConfig,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        auditor: Auditor,
    ) -> Self {
        Registrar {
            store,
            catalogue,
            config,
            clock,
            rng,
            auditor,
        }
    }

    fn checked(&self, object: Map<String, Value>) -> Result<ClientMetadata, OAuthError> {
        let sent: SentMetadata = serde_json::from_value(Value::Object(object)).map_err(|e| {
            OAuthError::new(
                ErrorCode::InvalidClientMetadata,
                format!("client metadata: {e}"),
            )
        })?;
        ClientMetadata::check(sent, &self.catalogue)
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
        let now = self.clock.now();
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
        let access_token = OpaqueToken::generate(self.rng.as_ref());
        let (kind, secret) = self.credentials(&metadata);
        let client = Client {
            id: ClientId::generate(self.rng.as_ref()),
            display_name: metadata.client_name.clone(),
            kind,
            redirect_uris: metadata.redirect_uris.clone(),
            allowed_scopes: metadata.scope.clone(),
            default_scopes: metadata.scope.clone(),
            grant_types: metadata.grant_types.clone(),
            created_at: now,
            disabled: false,
            registration: Some(ClientRegistration {
                access_token: access_token.digest(),
                token_endpoint_auth_method: metadata.auth_method.as_str().to_owned(),
            }),
        };
        self.store.put_client(&client).await?;
        self.audit(AuditEventKind::ClientRegistered, &client, context)
            .await;
        Ok(self.information(&client, secret.as_ref(), &access_token))
    }

    /// The registration `client_id` names, if `authorization` carries its registration
    /// access token. RFC 7592 section 2: an unknown client and a wrong token are both 401.
    async fn authorized(
        &self,
        client_id: &str,
        authorization: Option<&str>,
    ) -> Result<(Client, OpaqueToken), OAuthError> {
        let refused =
            || invalid_token("the registration access token is not valid for this client");
        let presented = bearer_token(authorization).map_err(|_| refused())?;
        let id = ClientId::parse(client_id).map_err(|_| refused())?;
        let client = self.store.get_client(&id).await?.ok_or_else(refused)?;
        let matches = client.registration.as_ref().is_some_and(|registration| {
            constant_time_eq(
                registration.access_token.as_str().as_bytes(),
                TokenDigest::of(presented).as_str().as_bytes(),
            )
        });
        if !matches || client.disabled {
            return Err(refused());
        }
        Ok((client, OpaqueToken::new(presented)))
    }

    /// `GET /register/{client_id}` (RFC 7592 section 2.1). The client secret is stored only
    /// as a hash, so it is not in the answer.
    pub async fn read(
        &self,
        client_id: &str,
        authorization: Option<&str>,
    ) -> Result<Value, OAuthError> {
        let (client, token) = self.authorized(client_id, authorization).await?;
        Ok(self.information(&client, None, &token))
    }

    /// `PUT /register/{client_id}` (RFC 7592 section 2.2): the metadata is replaced by the
    /// request's; a confidential client gets a new secret in the answer.
    pub async fn update(
        &self,
        client_id: &str,
        authorization: Option<&str>,
        body: &[u8],
        context: &RequestContext,
    ) -> Result<Value, OAuthError> {
        let (current, token) = self.authorized(client_id, authorization).await?;
        let mut object = json_object(body)?;
        let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidRequest, why);
        // "The client MUST include its client_id field in the request, and it MUST be the
        // same as its currently issued client identifier."
        if object.remove("client_id") != Some(Value::from(current.id.as_str())) {
            return Err(invalid("client_id must be present and be this client's id"));
        }
        if let Some(field) = SERVER_FIELDS.iter().find(|f| object.contains_key(**f)) {
            return Err(invalid(&format!(
                "{field} is set by the server and must not be sent"
            )));
        }
        // "If the client includes the client_secret field in the request, the value of this
        // field MUST match the currently issued client secret for that client."
        if let Some(secret) = object.remove("client_secret") {
            let presented = ClientSecret::new(secret.as_str().unwrap_or_default());
            if !current.verify_secret(&presented) {
                return Err(invalid("client_secret does not match this client's secret"));
            }
        }
        let metadata = self.checked(object)?;
        let (kind, secret) = self.credentials(&metadata);
        let client = Client {
            display_name: metadata.client_name.clone(),
            kind,
            redirect_uris: metadata.redirect_uris.clone(),
            allowed_scopes: metadata.scope.clone(),
            default_scopes: metadata.scope.clone(),
            grant_types: metadata.grant_types.clone(),
            registration: Some(ClientRegistration {
                access_token: token.digest(),
                token_endpoint_auth_method: metadata.auth_method.as_str().to_owned(),
            }),
            ..current
        };
        self.store.put_client(&client).await?;
        self.audit(AuditEventKind::ClientChanged, &client, context)
            .await;
        Ok(self.information(&client, secret.as_ref(), &token))
    }

    /// `DELETE /register/{client_id}` (RFC 7592 section 2.3): the client is removed and
    /// every grant and token it holds is revoked.
    pub async fn delete(
        &self,
        client_id: &str,
        authorization: Option<&str>,
        context: &RequestContext,
    ) -> Result<(), OAuthError> {
        let (client, _) = self.authorized(client_id, authorization).await?;
        self.store.delete_client(&client.id).await?;
        let revoker = AccessRevoker {
            store: self.store.as_ref(),
            auditor: &self.auditor,
            rng: self.rng.as_ref(),
            now: self.clock.now(),
            token_lifetime: self.config.access_token_ttl + LEEWAY,
            by: "client",
            context,
        };
        revoker.revoke_client(&client.id).await?;
        self.audit(AuditEventKind::ClientRemoved, &client, context)
            .await;
        Ok(())
    }

    /// A confidential client gets a fresh secret, shown once and stored hashed.
    fn credentials(&self, metadata: &ClientMetadata) -> (ClientKind, Option<ClientSecret>) {
        if metadata.auth_method.is_public() {
            return (ClientKind::Public, None);
        }
        let secret = ClientSecret::generate(self.rng.as_ref());
        let kind = ClientKind::Confidential {
            secret_hash: SecretHash::of(&secret),
        };
        (kind, Some(secret))
    }

    async fn audit(&self, kind: AuditEventKind, client: &Client, context: &RequestContext) {
        let method = client
            .registration
            .as_ref()
            .map(|r| r.token_endpoint_auth_method.clone())
            .unwrap_or_default();
        self.auditor
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
        let method = client
            .registration
            .as_ref()
            .map_or("client_secret_basic", |r| {
                r.token_endpoint_auth_method.as_str()
            });
        let mut answer = json!({
            "client_id": client.id.as_str(),
            "client_id_issued_at": client.created_at.as_secs(),
            "registration_access_token": access_token.secret(),
            "registration_client_uri": format!(
                "{}/{}",
                self.config.endpoint(REGISTER_PATH),
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
        if !client.is_public() {
            // "REQUIRED if client_secret is issued": 0 means it does not expire.
            answer["client_secret_expires_at"] = json!(0);
        }
        if let Some(secret) = secret {
            answer["client_secret"] = json!(secret.secret());
        }
        answer
    }
}
