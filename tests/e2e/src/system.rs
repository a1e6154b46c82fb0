//! The three interactive functions over one store, with one registered app and one user.

use authorize::handler::handle as authorize_handle;
use consent::handler::handle as consent_handle;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use token::handler::{handle as token_handle, TokenApp};
use xecure::audit::Auditor;
use xecure::config::{InteractionConfig, OAuthConfig};
use xecure::domain::*;
use xecure::oauth::interaction::AuthorizationFlow;
use xecure::oauth::token::TokenService;
use xecure::oauth::Dependencies;
use xecure::ports::{Clock, OsRng, Store, SystemClock};
use xecure::signing::{
    rotate_signing_key, KeySealer, LiveKeyring, LocalKeySealer, SigningAlgorithm,
};
use xecure::store::embedded::EmbeddedStore;

pub const ISSUER: &str = "https://auth.example";
pub const WEB: &str = "photo-app";
pub const WEB_SECRET: &str = "photo-app-secret-0123456789abcdefghijklmn";
pub const WEB_REDIRECT: &str = "https://photos.example/callback";
pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct System {
    pub store: Arc<dyn Store>,
    pub flow: AuthorizationFlow,
    pub token: TokenApp,
    sealer: Arc<dyn KeySealer>,
    _data_dir: Option<tempfile::TempDir>,
}

impl System {
    /// On the embedded store in a temporary directory.
    pub async fn embedded() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open the embedded store"));
        let sealer = Arc::new(LocalKeySealer::open(dir.path()).expect("a local key sealer"));
        Self::on(store, sealer, Some(dir)).await
    }

    /// On a fresh DynamoDB table with signing keys sealed under a fresh KMS key (moto).
    pub async fn dynamodb() -> Self {
        let store = Arc::new(xecure::testing::moto::fresh_store().await);
        let (aws, key_id) = xecure::testing::moto::fresh_kms_key().await;
        let sealer = Arc::new(xecure::signing::KmsKeySealer::from_config(&aws, key_id));
        Self::on(store, sealer, None).await
    }

    /// The authorize and consent functions as a new container runs them, with nothing cached
    /// (what every container sees once the client cache's minute has passed).
    pub fn restart_interactive_functions(&mut self) {
        let auditor = self.flow.auditor().clone();
        self.flow = interactive_flow(self.store.clone()).with_auditor(|_| auditor);
    }

    /// Every function as new containers run them, with nothing cached.
    pub async fn restart_functions(&mut self) {
        self.restart_interactive_functions();
        let auditor = self.token.auditor().clone();
        self.token = token_function(self.store.clone(), self.sealer.clone())
            .await
            .with_auditor(|_| auditor);
    }

    /// An operator's control of a user's account, as `xecure user ...` applies it.
    pub async fn control_user(
        &self,
        username: &str,
        control: &xecure::oauth::account_control::AccountControl,
    ) -> User {
        let context = xecure::audit::RequestContext::default();
        self.operator(&context)
            .control_user(&Username::parse(username).expect("a username"), control)
            .await
            .expect("the control applies")
    }

    /// Withdraws access as an operator would, now.
    pub fn operator<'a>(
        &'a self,
        context: &'a xecure::audit::RequestContext,
    ) -> xecure::oauth::access_revocation::AccessRevoker<'a> {
        xecure::oauth::access_revocation::AccessRevoker {
            store: self.store.as_ref(),
            auditor: self.flow.auditor(),
            rng: &OsRng,
            now: SystemClock.now(),
            token_lifetime: Duration::from_secs(11 * 60),
            by: "operator",
            context,
        }
    }

    /// `xecure keys rotate` as an operator runs it: a new key that signs after
    /// `publish_ahead`; every earlier key retires `old_tokens_live` after that.
    pub async fn rotate_signing_key(
        &self,
        publish_ahead: Duration,
        old_tokens_live: Duration,
    ) -> SigningKey {
        rotate_signing_key(
            self.store.as_ref(),
            self.sealer.as_ref(),
            &OsRng,
            SigningAlgorithm::EdDsa,
            SystemClock.now(),
            publish_ahead,
            old_tokens_live,
        )
        .await
        .expect("the key rotates")
    }

    /// On any store, with any key sealer (the moto tests pass DynamoDB and KMS).
    pub async fn on(
        store: Arc<dyn Store>,
        sealer: Arc<dyn KeySealer>,
        data_dir: Option<tempfile::TempDir>,
    ) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let now = clock.now();
        store
            .put_client(&Client {
                redirect_uris: vec![RedirectUri::parse(WEB_REDIRECT).expect("uri")],
                allowed_scopes: Scope::parse("profile:read orders:read orders:write")
                    .expect("scope"),
                default_scopes: Scope::parse("profile:read").expect("scope"),
                grant_types: BTreeSet::from([
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                ]),
                // The tests' app sends its secret in the form (RFC 6749 section 2.3.1).
                auth_method: Some(AuthMethod::ClientSecretPost),
                ..Client::new(
                    ClientId::parse(WEB).expect("id"),
                    "Photo Printing <Co>",
                    ClientKind::Confidential {
                        secret_hash: SecretHash::of(&ClientSecret::new(WEB_SECRET)),
                    },
                    now,
                )
            })
            .await
            .expect("register the app");
        store
            .create_user(&User::new(
                UserId::generate(&OsRng),
                Username::parse(USERNAME).expect("name"),
                PasswordHash::create(&Password::new(PASSWORD), &OsRng).expect("hash"),
                now,
            ))
            .await
            .expect("create the user");
        rotate_signing_key(
            store.as_ref(),
            sealer.as_ref(),
            &OsRng,
            SigningAlgorithm::EdDsa,
            now,
            Duration::from_secs(600),
            Duration::from_secs(900),
        )
        .await
        .expect("a signing key");
        let token = token_function(store.clone(), sealer.clone()).await;
        let flow = interactive_flow(store.clone());
        System {
            store,
            flow,
            token,
            sealer,
            _data_dir: data_dir,
        }
    }

    /// A form POST to a token-function endpoint (`/token`, `/revoke`) as the web app,
    /// authenticating with its secret: the status and the JSON answer.
    pub async fn app_posts(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut fields = fields.to_vec();
        fields.extend([("client_id", WEB), ("client_secret", WEB_SECRET)]);
        let body = serde_urlencoded::to_string(&fields).expect("a form");
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a request");
        let response = self.serve(request).await;
        let json = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (response.status(), json)
    }

    /// The same system, its audit trails reconfigured: `interactive` for the authorize and
    /// consent functions, `token` for the token function (each Lambda has its own).
    pub fn audited(
        mut self,
        interactive: impl FnOnce(Auditor) -> Auditor,
        token: impl FnOnce(Auditor) -> Auditor,
    ) -> Self {
        self.flow = self.flow.with_auditor(interactive);
        self.token = self.token.with_auditor(token);
        self
    }

    /// Routes as the API would: each path (without a REST API stage) to the function that
    /// serves it, each request one invocation (its audit batch sent before it returns).
    pub async fn serve(&self, request: Request) -> Response<Body> {
        let path = xecure::http::route_path(&request).to_owned();
        let flow_auditor = self.flow.auditor();
        let response = match path.as_str() {
            "/authorize" | "/login" | "/logout" => {
                flow_auditor
                    .around("authorize", authorize_handle(&self.flow, request))
                    .await
            }
            path if consent::handler::serves(path) => {
                flow_auditor
                    .around("consent", consent_handle(&self.flow, request))
                    .await
            }
            _ => {
                self.token
                    .auditor()
                    .around("token", token_handle(&self.token, request))
                    .await
            }
        };
        response.expect("handlers answer client errors with Ok")
    }
}

/// The authorize and consent functions' service over `store`.
fn interactive_flow(store: Arc<dyn Store>) -> AuthorizationFlow {
    let deps = Dependencies::over(store.clone(), OAuthConfig::for_issuer(ISSUER)).build();
    AuthorizationFlow::new(deps, store, InteractionConfig::default())
}

/// The token function's app over `store`, its keys unsealed with `sealer`.
async fn token_function(store: Arc<dyn Store>, sealer: Arc<dyn KeySealer>) -> TokenApp {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keyring = LiveKeyring::load(
        store.clone(),
        Some(sealer),
        clock.clone(),
        Duration::from_secs(300),
    )
    .await
    .expect("load the keyring");
    let deps = Dependencies::over(store.clone(), OAuthConfig::for_issuer(ISSUER))
        .clock(clock)
        .build();
    TokenApp::new(TokenService::new(deps, store, Arc::new(keyring)))
}
