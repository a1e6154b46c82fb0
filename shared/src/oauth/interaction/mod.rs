//! From a validated authorization request to an authorization code: who must log in, when the
//! consent screen is shown, and what the user's decision produces. The handlers of the
//! authorize and consent functions turn each `Step` into a page or a redirect; everything
//! decided here is tested without HTTP.

mod account;
mod connected_apps;
mod decide;
mod end_session;
mod grant_record;
mod logout;
mod pushed;
#[cfg(test)]
mod tests;

pub use account::{device_of, PasswordChange, SessionView};
pub use connected_apps::ConnectedApp;
pub use decide::Decision;
pub use end_session::EndSessionRequest;

use super::authorization_code::{issue_authorization_code, CodeBinding};
use super::authorize::{error_redirect, redirect_with, validate_authorize_request};
use super::authorize::{AuthorizeRejection, AuthorizeRequest, Prompt};
use super::error::unavailable;
use super::login::LoginService;
use super::pkce::CodeChallenge;
use super::{ErrorCode, OAuthError, Params};
use crate::audit::{AuditDraft, Auditor, RequestContext};
use crate::config::{InteractionConfig, OAuthConfig};
use crate::domain::{
    AuditEventKind, AuditOutcome, Client, Grant, LoginSession, OpaqueToken, PendingAuthorization,
    RedirectUri, TokenDigest,
};
use crate::oauth::Dependencies;
use crate::ports::{AccountPageStore, ClientStore, InteractionStore};
use std::sync::Arc;

/// What the browser is shown or sent to next.
#[derive(Debug)]
pub enum Step {
    /// An error page; never a redirect (client or redirect URI unknown, or the hand-off
    /// between pages expired or was tampered with).
    ShowError(OAuthError),
    /// 303 to the client's redirect URI, carrying a code or an error, `state` and `iss`.
    ToClient(String),
    /// 303 to the login page for this pending request.
    ToLogin(OpaqueToken),
    /// 303 to the consent page for this pending request.
    ToConsent(OpaqueToken),
    /// Render the consent screen.
    ShowConsent(ConsentView),
}

/// What the consent screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    pub client_name: String,
    pub username: String,
    /// Where the decision will send the browser (the page's CSP allows it as a form target).
    pub redirect_uri: RedirectUri,
    pub scopes: Vec<ScopeChoice>,
    /// The app's logo, privacy policy and terms (RFC 7591 section 2), https only.
    pub links: crate::domain::ClientLinks,
    /// False for a dynamically registered app no operator has vouched for: the screen says
    /// so (RFC 7591 section 5: the user should know the server has not checked it).
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeChoice {
    pub name: String,
    pub description: String,
}

/// What the login page shows about the request it continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginView {
    pub client: Client,
    pub redirect_uri: RedirectUri,
    /// OpenID Connect `login_hint`: the username field's initial value.
    pub login_hint: Option<String>,
}

/// Longest handle accepted from a browser (ours are 43 characters).
const MAX_HANDLE_LEN: usize = 128;

pub struct AuthorizationFlow {
    deps: Dependencies,
    /// The only store handle the flow uses: the authorize and consent functions' capability.
    store: Arc<dyn InteractionStore>,
    /// The account page's password change and sign-out everywhere; None in AWS (rule 22).
    accounts: Option<Arc<dyn AccountPageStore>>,
    interaction: InteractionConfig,
    /// The published signing keys, for `id_token_hint` at the end session endpoint: loaded
    /// on first use, so a function that never sees one never reads them.
    id_token_keys: tokio::sync::OnceCell<crate::signing::LiveKeyring>,
}

fn expired_handoff() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidRequest,
        "This sign-in request has expired or was already completed. Go back to the app and start again.",
    )
}

impl AuthorizationFlow {
    /// The authorize and consent functions' service over `deps`, reading and writing the
    /// table through `store` only.
    pub fn new(
        deps: Dependencies,
        store: Arc<dyn InteractionStore>,
        interaction: InteractionConfig,
    ) -> Self {
        AuthorizationFlow {
            deps,
            store,
            accounts: None,
            interaction,
            id_token_keys: tokio::sync::OnceCell::new(),
        }
    }

    /// The same flow letting users change their password and sign out everywhere from the
    /// account page, writing their account through `accounts`.
    pub fn with_account_admin(mut self, accounts: Arc<dyn AccountPageStore>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Whether the account page may change the password and sign out everywhere here.
    pub fn account_writes(&self) -> bool {
        self.accounts.is_some()
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.deps.config
    }

    pub fn interaction(&self) -> &InteractionConfig {
        &self.interaction
    }

    pub fn auditor(&self) -> &Auditor {
        &self.deps.auditor
    }

    /// Audit lines and batches go through the reconfigured auditor (log group, line sink).
    pub fn with_auditor(mut self, configure: impl FnOnce(Auditor) -> Auditor) -> Self {
        self.deps = self.deps.with_auditor(configure);
        self
    }

    /// The login checks, over the same store, clock, randomness and audit trail.
    pub fn login_service(&self) -> LoginService {
        LoginService::new(
            self.deps.clone(),
            self.store.clone(),
            self.interaction.login.clone(),
            self.interaction.session_ttl,
        )
    }

    /// A fresh random value for a browser that has no cookie yet.
    pub fn new_browser_cookie(&self) -> OpaqueToken {
        OpaqueToken::generate(self.deps.rng.as_ref())
    }

    /// The session a browser's cookie stands for, if it is live: unexpired, and its user's
    /// account still accepts that sign-in (not disabled, removed, or signed out everywhere
    /// since; security rule 16).
    pub async fn session(
        &self,
        cookie: Option<&OpaqueToken>,
    ) -> Result<Option<LoginSession>, OAuthError> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let Some(session) = self
            .store
            .get_session(&cookie.digest(), self.deps.clock.now())
            .await?
        else {
            return Ok(None);
        };
        let account = self.store.get_user(&session.user_id).await?;
        Ok(account
            .filter(|user| user.accepts_sign_in_from(session.authenticated_at))
            .map(|_| session))
    }

    /// An entry for the authorizer's revocation list, living as long as any access token it
    /// may have to stop.
    pub(crate) fn access_revocation(
        &self,
        target: crate::domain::RevocationTarget,
        now: crate::domain::Timestamp,
    ) -> crate::domain::Revocation {
        crate::oauth::access_revocation::entry(
            self.deps.rng.as_ref(),
            now,
            self.deps.config.access_token_ttl + crate::jwt::LEEWAY,
            target,
        )
    }

    /// `GET /authorize` (RFC 6749 section 4.1.1).
    pub async fn begin(
        &self,
        params: &Params,
        session: Option<&LoginSession>,
        context: &RequestContext,
    ) -> Step {
        let given = match self.authorization_params(params).await {
            Ok(given) => given,
            Err(error) => return Step::ShowError(error),
        };
        let request = match validate_authorize_request(
            self.deps.clients.as_ref(),
            &self.deps.catalogue,
            &given.params,
        )
        .await
        {
            // RFC 9126 section 6: a client registered to push its requests uses request_uri.
            Ok(request) if request.client.require_pushed_authorization_requests && !given.pushed => {
                return Step::ShowError(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "this app must push its authorization requests (RFC 9126): it sent one directly",
                ))
            }
            Ok(request) => request,
            Err(AuthorizeRejection::ShowError(error)) => return Step::ShowError(error),
            Err(AuthorizeRejection::Redirect {
                redirect_uri,
                state,
                error,
            }) => {
                return Step::ToClient(error_redirect(
                    &redirect_uri,
                    &self.deps.config.issuer,
                    state.as_deref(),
                    &error,
                ))
            }
        };
        let now = self.deps.clock.now();
        let handle = OpaqueToken::generate(self.deps.rng.as_ref());
        let pending = pending_of(&request, handle.digest(), now, &self.interaction);
        // A sign-in older than `max_age` allows (or any, with prompt=login) is no sign-in for
        // this request: the user logs in again, or prompt=none gets login_required.
        let session = session.filter(|s| logged_in_enough(s, &pending));
        let remembered = match session {
            Some(session) => match self
                .consent_remembered(&pending, session, &request.client)
                .await
            {
                Ok(remembered) => remembered,
                Err(error) => return Step::ShowError(error),
            },
            None => None,
        };
        match (request.prompt, session, remembered) {
            // OpenID Connect Core 3.1.2.1: prompt=none must not show any page. Nobody signed
            // in: only a trusted client gets the error at its redirect URI (rule 20).
            (Prompt::None, None, _) if !request.client.is_trusted() => {
                Step::ShowError(OAuthError::new(
                    ErrorCode::LoginRequired,
                    "the user is not signed in (this app's errors are shown here, not sent to it, until an operator verifies it)",
                ))
            }
            (Prompt::None, None, _) => self.refuse(
                &pending,
                ErrorCode::LoginRequired,
                "the user is not logged in",
            ),
            (Prompt::None, Some(session), Some(grant)) => {
                self.issue_code(&pending, session, &grant, context).await
            }
            (Prompt::None, Some(_), None) if !request.client.is_trusted() => {
                Step::ShowError(OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the user has not consented to this app (its errors are shown here, not sent to it, until an operator verifies it)",
                ))
            }
            (Prompt::None, Some(_), None) => self.refuse(
                &pending,
                ErrorCode::ConsentRequired,
                "the user has not consented to this request",
            ),
            (Prompt::Default, Some(session), Some(grant)) => {
                self.issue_code(&pending, session, &grant, context).await
            }
            (Prompt::Login, _, _) | (_, None, _) => match self.park(&pending).await {
                Ok(()) => Step::ToLogin(handle),
                Err(error) => Step::ShowError(error),
            },
            (Prompt::Default | Prompt::Consent, Some(_), _) => match self.park(&pending).await {
                Ok(()) => Step::ToConsent(handle),
                Err(error) => Step::ShowError(error),
            },
        }
    }

    /// The pending request behind a login page, for its heading and CSP.
    pub async fn login_view(&self, handle: &str) -> Result<LoginView, Step> {
        let pending = self.pending(handle).await?;
        let client = self.client_of(&pending).await?;
        Ok(LoginView {
            client,
            redirect_uri: pending.redirect_uri,
            login_hint: pending.login_hint,
        })
    }

    /// `GET /consent`: after login, or when the user comes back to the page.
    pub async fn resume(
        &self,
        handle: &str,
        session: Option<&LoginSession>,
        context: &RequestContext,
    ) -> Step {
        let pending = match self.pending(handle).await {
            Ok(pending) => pending,
            Err(step) => return step,
        };
        let Some(session) = session.filter(|s| logged_in_enough(s, &pending)) else {
            return Step::ToLogin(OpaqueToken::new(handle));
        };
        let client = match self.client_of(&pending).await {
            Ok(client) => client,
            Err(step) => return step,
        };
        let remembered = match self.consent_remembered(&pending, session, &client).await {
            Ok(remembered) => remembered,
            Err(error) => return Step::ShowError(error),
        };
        if let Some(grant) = remembered.filter(|_| pending.prompt != Prompt::Consent) {
            return match self
                .store
                .take_pending_authorization(&pending.digest, self.deps.clock.now())
                .await
            {
                Ok(Some(pending)) => self.issue_code(&pending, session, &grant, context).await,
                Ok(None) => Step::ShowError(expired_handoff()),
                Err(error) => Step::ShowError(unavailable(error)),
            };
        }
        Step::ShowConsent(ConsentView {
            verified: client.verified || client.registration.is_none(),
            links: client.links,
            client_name: client.display_name,
            username: session.username.to_string(),
            redirect_uri: pending.redirect_uri.clone(),
            scopes: self.describe(&pending.scope),
        })
    }

    /// Each scope with its plain-words description from the catalogue.
    fn describe(&self, scope: &crate::domain::Scope) -> Vec<ScopeChoice> {
        scope
            .iter()
            .map(|name| ScopeChoice {
                name: name.to_owned(),
                description: self
                    .deps
                    .catalogue
                    .describe(name)
                    .unwrap_or(name)
                    .to_owned(),
            })
            .collect()
    }

    async fn pending(&self, handle: &str) -> Result<PendingAuthorization, Step> {
        if handle.is_empty() || handle.len() > MAX_HANDLE_LEN {
            return Err(Step::ShowError(expired_handoff()));
        }
        match self
            .store
            .get_pending_authorization(&TokenDigest::of(handle), self.deps.clock.now())
            .await
        {
            Ok(Some(pending)) => Ok(pending),
            Ok(None) => Err(Step::ShowError(expired_handoff())),
            Err(error) => Err(Step::ShowError(unavailable(error))),
        }
    }

    async fn client_of(&self, pending: &PendingAuthorization) -> Result<Client, Step> {
        match self.deps.clients.get_client(&pending.client_id).await {
            Ok(Some(client)) => Ok(client),
            // Removed since the request was made.
            Ok(None) => Err(Step::ShowError(OAuthError::new(
                ErrorCode::InvalidRequest,
                "the client is not registered",
            ))),
            Err(error) => Err(Step::ShowError(unavailable(error))),
        }
    }

    async fn park(&self, pending: &PendingAuthorization) -> Result<(), OAuthError> {
        Ok(self.store.put_pending_authorization(pending).await?)
    }

    /// Security rule 14: consent is never implied. It is remembered only when the user
    /// already granted every requested scope to this client, the grant is active, and the
    /// client has not since moved or widened where its tokens go (rule 16: a new redirect
    /// URI must be shown to the user before a code goes there).
    async fn consent_remembered(
        &self,
        pending: &PendingAuthorization,
        session: &LoginSession,
        client: &Client,
    ) -> Result<Option<Grant>, OAuthError> {
        let grant = self
            .store
            .get_grant(&session.user_id, &pending.client_id)
            .await?;
        Ok(grant.filter(|grant| {
            // The grant, the request and the client as this container knows it all stand
            // at one revision: a stale cache on either side shows the screen instead.
            grant.is_active()
                && grant.client_revision == pending.client_revision
                && pending.client_revision == client.revision
                && pending.scope.is_subset_of(&grant.scope)
        }))
    }

    fn refuse(&self, pending: &PendingAuthorization, code: ErrorCode, why: &str) -> Step {
        Step::ToClient(error_redirect(
            &pending.redirect_uri,
            &self.deps.config.issuer,
            pending.state.as_deref(),
            &OAuthError::new(code, why),
        ))
    }

    /// RFC 6749 section 4.1.2: the code goes to the client with `state`, and `iss` (RFC 9207).
    async fn issue_code(
        &self,
        pending: &PendingAuthorization,
        session: &LoginSession,
        grant: &Grant,
        context: &RequestContext,
    ) -> Step {
        self.issue_code_after(pending, session, grant, context, Vec::new())
            .await
    }

    /// As `issue_code`, recording `earlier` (the decision that led here) with `code_issued`
    /// in one write, in that order.
    async fn issue_code_after(
        &self,
        pending: &PendingAuthorization,
        session: &LoginSession,
        grant: &Grant,
        context: &RequestContext,
        mut earlier: Vec<AuditDraft>,
    ) -> Step {
        let Ok(code_challenge) =
            CodeChallenge::from_request(Some(&pending.code_challenge), Some("S256"))
        else {
            return Step::ShowError(expired_handoff());
        };
        // OIDC Core section 3.1.2.1: `max_age` holds when the code is issued too, so a
        // consent page left open cannot yield an `auth_time` much older than the app allows
        // (within the clock leeway relying parties grant, as the sign-in itself takes time).
        if let Some(max_age) = pending.max_age {
            let allowed =
                std::time::Duration::from_secs(max_age).saturating_add(crate::jwt::LEEWAY);
            if session.authenticated_at < self.deps.clock.now().minus(allowed) {
                self.deps.auditor.record_all(earlier, context).await;
                return self.refuse(
                    pending,
                    ErrorCode::LoginRequired,
                    "the sign-in is older than max_age allows: sign in again",
                );
            }
        }
        let binding = CodeBinding {
            client_id: pending.client_id.clone(),
            user_id: session.user_id.clone(),
            grant_id: grant.id.clone(),
            grant_epoch: grant.family_epoch,
            client_revision: pending.client_revision,
            redirect_uri: pending.redirect_uri.clone(),
            scope: pending.scope.clone(),
            code_challenge,
            auth_time: session.authenticated_at,
            nonce: pending.nonce.clone(),
        };
        let code = match issue_authorization_code(
            self.store.as_ref(),
            self.deps.rng.as_ref(),
            self.deps.clock.now(),
            self.deps.config.code_ttl,
            binding,
        )
        .await
        {
            Ok(code) => code,
            Err(error) => {
                // The decision stands (the grant is stored) even though no code came of it.
                self.deps.auditor.record_all(earlier, context).await;
                return Step::ShowError(unavailable(error));
            }
        };
        earlier.push(
            AuditDraft::new(AuditEventKind::CodeIssued, AuditOutcome::Success)
                .user(&session.user_id)
                .client(&pending.client_id)
                .detail("grant_id", grant.id.as_str())
                .detail("scope", pending.scope.to_string())
                .detail("code_digest", code.digest().log_prefix().to_owned()),
        );
        self.deps.auditor.record_all(earlier, context).await;
        Step::ToClient(redirect_with(
            &pending.redirect_uri,
            &self.deps.config.issuer,
            pending.state.as_deref(),
            &[("code", code.secret())],
        ))
    }
}

/// With `prompt=login` only a login after the request counts.
fn logged_in_enough(session: &LoginSession, pending: &PendingAuthorization) -> bool {
    pending
        .needs_login_since()
        .is_none_or(|since| session.authenticated_at >= since)
}

fn pending_of(
    request: &AuthorizeRequest,
    digest: TokenDigest,
    now: crate::domain::Timestamp,
    interaction: &InteractionConfig,
) -> PendingAuthorization {
    PendingAuthorization {
        digest,
        client_id: request.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        state: request.state.clone(),
        code_challenge: request.code_challenge.as_str().to_owned(),
        prompt: request.prompt,
        nonce: request.openid.nonce.clone(),
        max_age: request.openid.max_age,
        login_hint: request.openid.login_hint.clone(),
        client_revision: request.client.revision,
        created_at: now,
        expires_at: now.plus(interaction.pending_ttl),
    }
}
