//! The end session endpoint (OpenID Connect RP-Initiated Logout 1.0): an app sends the
//! browser to `/logout` with `id_token_hint`, `client_id`, `post_logout_redirect_uri` and
//! `state`. The parameters are checked before anything else: the redirect URI must be one the
//! client registered, compared exactly (security rules 1 and 2), and is never used otherwise;
//! the browser is sent there on its own only for a client the operator trusts (rule 20: a
//! self-registered app gets a link the user may follow, as at `/authorize`). A GET signs out
//! at once only when the hint proves the app holds the ID token of this very sign-in of this
//! session's user; otherwise the user confirms with the CSRF-protected form (section 2: "the
//! OP SHOULD ask the End-User whether to log out"). A hint that does not verify (a key since
//! retired, say) is treated as no hint: the user is asked.

use super::AuthorizationFlow;
use crate::domain::{ClientId, LoginSession, RedirectUri};
use crate::oauth::authorize::with_query;
use crate::oauth::openid::hint::{verify_id_token_hint, HintedSignIn};
use crate::oauth::{ErrorCode, OAuthError, Params};
use crate::ports::{ClientStore, KeyStore};
use crate::signing::{LiveKeyring, KEYRING_RELOAD, NO_SIGNING_KEY_RETRY};
use std::sync::Arc;

/// An RP's logout request, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndSessionRequest {
    /// The client asking, from `client_id` or the hint's audience.
    pub client: Option<(ClientId, String)>,
    /// `post_logout_redirect_uri` with `state` added: where the browser goes afterwards.
    pub return_to: Option<String>,
    /// The registered URI itself (the confirmation form's CSP allows it as a target).
    pub return_uri: Option<RedirectUri>,
    /// Whether the browser may be sent to `return_to` without the user choosing to (the
    /// client is operator-added or verified, rule 20).
    pub redirects: bool,
    /// The sign-in the hint names, if a hint was given and verified.
    pub hinted: Option<HintedSignIn>,
    /// The parameters to carry through the confirmation form.
    pub carried: Vec<(&'static str, String)>,
}

impl EndSessionRequest {
    /// Whether the hint is the ID token of `session`'s own sign-in (same user, same
    /// `auth_time`): then a GET may end the session without asking. An older ID token of the
    /// user, which any app they ever signed in to may hold, does not do.
    pub fn hint_names(&self, session: &LoginSession) -> bool {
        self.hinted.as_ref().is_some_and(|hint| {
            hint.sub == session.user_id.as_str()
                && hint.auth_time == Some(session.authenticated_at.as_secs())
        })
    }

    /// `logout_url` with this request's parameters, to show its signed-out page once the
    /// session is over (the hint left out: a token stays out of URLs, rule 10).
    pub fn signed_out_page(&self, logout_url: &str) -> String {
        // The client the hint named goes in as `client_id`, which identifies it without the
        // token.
        let mut pairs: Vec<(&str, &str)> = self
            .carried
            .iter()
            .filter(|(name, _)| !matches!(*name, "id_token_hint" | "client_id"))
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        if let Some((client, _)) = &self.client {
            pairs.push(("client_id", client.as_str()));
        }
        let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
        format!("{logout_url}?{query}")
    }
}

fn refused(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

/// The parameters the confirmation form carries to its POST.
const CARRIED: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

impl AuthorizationFlow {
    /// The published keys, loaded on the first logout with a hint (public halves only:
    /// nothing is unsealed here) and reloaded like the token function's.
    async fn id_token_keys(&self) -> Result<&LiveKeyring, OAuthError> {
        self.id_token_keys
            .get_or_try_init(|| async {
                let keys: Arc<dyn KeyStore> = self.store.clone();
                LiveKeyring::load(keys, None, self.deps.clock.clone(), KEYRING_RELOAD)
                    .await
                    .map_err(|e| crate::oauth::error::unavailable(e.to_string()))
            })
            .await
    }

    /// The sign-in `hint` names, if it is an ID token signed here. A hint signed by a key
    /// this container does not know yet makes it read the keys again, at most every
    /// `NO_SIGNING_KEY_RETRY`.
    async fn verified_hint(&self, hint: &str) -> Result<Option<HintedSignIn>, OAuthError> {
        let keys = self.id_token_keys().await?;
        let issuer = &self.deps.config.issuer;
        match verify_id_token_hint(&*keys.current().await, hint, issuer) {
            Ok(hinted) => return Ok(Some(hinted)),
            Err("unknown kid") => keys.reload_unless_newer_than(NO_SIGNING_KEY_RETRY).await,
            Err(why) => {
                tracing::info!(why, "id_token_hint not verified: treated as absent");
                return Ok(None);
            }
        }
        Ok(verify_id_token_hint(&*keys.current().await, hint, issuer).ok())
    }

    /// Checks an RP's logout parameters. An error is shown on a page, never redirected.
    pub async fn end_session_request(
        &self,
        params: &Params,
    ) -> Result<EndSessionRequest, OAuthError> {
        let mut request = EndSessionRequest {
            carried: CARRIED
                .iter()
                .filter_map(|name| params.get(name).map(|value| (*name, value.to_owned())))
                .collect(),
            ..EndSessionRequest::default()
        };
        let mut client_id = params.get("client_id").map(str::to_owned);
        if let Some(hint) = params.get("id_token_hint") {
            if let Some(hinted) = self.verified_hint(hint).await? {
                // Section 2: "If both client_id and id_token_hint are present, the OP MUST
                // verify that the Client Identifier matches the one used when issuing the ID
                // Token."
                if client_id.as_ref().is_some_and(|id| *id != hinted.client_id) {
                    return Err(refused("client_id does not match the id_token_hint"));
                }
                client_id = Some(hinted.client_id.clone());
                request.hinted = Some(hinted);
            }
        }
        let client = match client_id {
            None => None,
            Some(raw) => {
                let id = ClientId::parse(&raw).map_err(|_| refused("client_id is not valid"))?;
                let client = self
                    .deps
                    .clients
                    .get_client(&id)
                    .await?
                    .ok_or_else(|| refused("the client is not registered"))?;
                Some(client)
            }
        };
        if let Some(raw) = params.get("post_logout_redirect_uri") {
            // Section 3: the URI must identify a client and match one it registered.
            let client = client.as_ref().ok_or_else(|| {
                refused("post_logout_redirect_uri needs client_id or id_token_hint")
            })?;
            let uri = RedirectUri::parse(raw)
                .map_err(|_| refused("post_logout_redirect_uri is not valid"))?;
            if !client.openid.post_logout_redirect_uris.contains(&uri) {
                return Err(refused(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            // Section 3: `state` goes back with the redirect. No `iss`: that belongs to
            // authorization responses (RFC 9207), not to this one.
            let state: Vec<(&str, &str)> = params
                .get("state")
                .map(|state| ("state", state))
                .into_iter()
                .collect();
            request.return_to = Some(with_query(&uri, &state));
            request.return_uri = Some(uri);
            request.redirects = client.is_trusted();
        }
        request.client = client.map(|client| (client.id, client.display_name));
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_out_page_names_the_client_without_the_hint() {
        let request = EndSessionRequest {
            client: Some((ClientId::parse("cli_self").unwrap(), "Self App".into())),
            carried: vec![
                ("id_token_hint", "eyJ.hint.sig".into()),
                ("post_logout_redirect_uri", "https://app.example/bye".into()),
                ("state", "s 1".into()),
            ],
            ..EndSessionRequest::default()
        };
        let url = request.signed_out_page("https://auth.example/logout");
        assert_eq!(
            url,
            "https://auth.example/logout?post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=s+1&client_id=cli_self"
        );
    }
}
