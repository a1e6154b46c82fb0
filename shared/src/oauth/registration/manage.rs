//! RFC 7592: reading, updating and deleting a registration at its
//! `registration_client_uri`, with the registration access token. Every update rotates the
//! token and moves its expiry (section 2.2: "the authorization server MAY issue a new
//! registration access token"); a change that moves or widens where the client's tokens go
//! revokes what users had granted it (security rule 16).

use super::{invalid_token, json_object, Registrar, SERVER_FIELDS};
use crate::audit::RequestContext;
use crate::domain::secret::constant_time_eq;
use crate::domain::{AuditEventKind, Client, ClientId, ClientSecret, OpaqueToken, TokenDigest};
use crate::jwt::LEEWAY;
use crate::oauth::access_revocation::AccessRevoker;
use crate::oauth::bearer::bearer_token;
use crate::oauth::{ErrorCode, OAuthError};
use serde_json::Value;

impl Registrar {
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
        let now = self.deps.clock.now();
        let matches = client.registration.as_ref().is_some_and(|registration| {
            let live = registration
                .access_token_expires_at
                .is_none_or(|expires| !expires.has_passed(now));
            live && constant_time_eq(
                registration.access_token.as_str().as_bytes(),
                TokenDigest::of(presented).as_str().as_bytes(),
            )
        });
        if !matches || client.disabled {
            return Err(refused());
        }
        Ok((client, OpaqueToken::new(presented)))
    }

    /// Withdraws access on the client's own behalf (audited `by: client`).
    fn revoker<'a>(
        &'a self,
        context: &'a RequestContext,
        now: crate::domain::Timestamp,
    ) -> AccessRevoker<'a, dyn crate::ports::TokenFunctionStore> {
        AccessRevoker {
            store: self.store.as_ref(),
            auditor: &self.deps.auditor,
            rng: self.deps.rng.as_ref(),
            now,
            token_lifetime: self.deps.config.access_token_ttl + LEEWAY,
            by: "client",
            context,
        }
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
        let (current, _) = self.authorized(client_id, authorization).await?;
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
        let now = self.deps.clock.now();
        let rotated = OpaqueToken::generate(self.deps.rng.as_ref());
        let after = Client {
            kind,
            registration: Some(self.registration(&rotated, now)),
            ..metadata.applied_to(current.clone())
        };
        let changed = self
            .revoker(context, now)
            .change_client(&current, after)
            .await;
        self.deps.clients.forget(&current.id);
        let changed = changed?;
        Ok(self.information(&changed.client, secret.as_ref(), &rotated))
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
        // Withdraw first, then delete: a failure part-way leaves the registration (and this
        // token) in place, so the call can be repeated; once the client is gone, every code
        // and refresh token of it is refused too (their checks read the client).
        self.revoker(context, self.deps.clock.now())
            .revoke_client(&client.id)
            .await?;
        let deleted = self.store.delete_client(&client.id).await;
        self.deps.clients.forget(&client.id);
        deleted?;
        self.audit(AuditEventKind::ClientRemoved, &client, context)
            .await;
        Ok(())
    }
}
