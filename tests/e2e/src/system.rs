//! The three interactive functions over one store, with one registered app and one user.

use authorize::handler::handle as authorize_handle;
use consent::handler::handle as consent_handle;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use token::handler::{handle as token_handle, TokenApp};
use xecure::audit::Auditor;
use xecure::config::{InteractionConfig, OAuthConfig};
use xecure::domain::*;
use xecure::oauth::interaction::AuthorizationFlow;
use xecure::oauth::Dependencies;
use xecure::ports::{Clock, OsRng, Store, SystemClock};
use xecure::testing::{ClientFixture, World};
use xecure::wiring::token_service_over;

pub const ISSUER: &str = "https://auth.example";
pub const WEB: &str = "photo-app";
pub const WEB_SECRET: &str = "photo-app-secret-0123456789abcdefghijklmn";
pub const WEB_REDIRECT: &str = "https://photos.example/callback";
pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct System {
    /// The world's store (`world.store`), for short.
    pub store: Arc<dyn Store>,
    pub flow: AuthorizationFlow,
    pub token: TokenApp,
    /// The store and key sealer under the functions (the `World` fixture every crate's
    /// tests share).
    pub world: World,
}

impl System {
    /// On the embedded store in a temporary directory.
    pub async fn embedded() -> Self {
        Self::in_world(World::embedded()).await
    }

    /// On a fresh DynamoDB table with signing keys sealed under a fresh KMS key (moto).
    pub async fn dynamodb() -> Self {
        Self::in_world(World::dynamodb().await).await
    }

    /// The authorize and consent functions as a new container runs them, with nothing cached
    /// (what every container sees once the client cache's minute has passed).
    pub fn restart_interactive_functions(&mut self) {
        let auditor = self.flow.auditor().clone();
        self.flow = interactive_flow(self.world.store.clone()).with_auditor(|_| auditor);
    }

    /// Every function as new containers run them, with nothing cached.
    pub async fn restart_functions(&mut self) {
        self.restart_functions_configured(|config| config, Arc::new(SystemClock))
            .await;
    }

    /// The same, the token function's configuration changed by `configure` and its time
    /// told by `clock`.
    pub async fn restart_functions_configured(
        &mut self,
        configure: impl FnOnce(OAuthConfig) -> OAuthConfig,
        clock: Arc<dyn Clock>,
    ) {
        self.restart_interactive_functions();
        let auditor = self.token.auditor().clone();
        let config = configure(OAuthConfig::for_issuer(ISSUER));
        self.token = token_function(&self.world, config, clock)
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
        self.world
            .rotate_signing_key(SystemClock.now(), publish_ahead, old_tokens_live)
            .await
    }

    /// The functions over `world` (any store, any key sealer), with the photo app registered,
    /// the user created and a signing key in use.
    pub async fn in_world(world: World) -> Self {
        let now = SystemClock.now();
        let app = ClientFixture::confidential(WEB, WEB_SECRET)
            .named("Photo Printing <Co>")
            .redirect(WEB_REDIRECT)
            .scopes("profile:read orders:read orders:write", "profile:read")
            .grants(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
            // The tests' app sends its secret in the form (RFC 6749 section 2.3.1).
            .auth_method(AuthMethod::ClientSecretPost);
        world.register(app, now).await;
        world.create_user(USERNAME, PASSWORD, now).await;
        world
            .rotate_signing_key(now, Duration::from_secs(600), Duration::from_secs(900))
            .await;
        System {
            store: world.store.clone(),
            flow: interactive_flow(world.store.clone()),
            token: token_function(
                &world,
                OAuthConfig::for_issuer(ISSUER),
                Arc::new(SystemClock),
            )
            .await,
            world,
        }
    }

    /// A form POST to a token-function endpoint (`/token`, `/revoke`) as the web app,
    /// authenticating with its secret: the status and the JSON answer.
    pub async fn app_posts(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut fields = fields.to_vec();
        fields.extend([("client_id", WEB), ("client_secret", WEB_SECRET)]);
        self.form_post(path, &fields, None).await
    }

    /// A form POST with `authorization` as its Authorization header, if any: the status and
    /// the JSON answer.
    pub async fn form_post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        authorization: Option<&str>,
    ) -> (StatusCode, Value) {
        let headers: Vec<(&str, &str)> = authorization
            .map(|value| ("authorization", value))
            .into_iter()
            .collect();
        self.form_post_with(path, fields, &headers).await
    }

    /// A form POST with `headers` (an Authorization, a DPoP proof): the status and the JSON
    /// answer.
    pub async fn form_post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let body = serde_urlencoded::to_string(fields).expect("a form");
        let mut request = lambda_http::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .serve(request.body(Body::from(body)).expect("a request"))
            .await;
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

/// The token function's app over the world's store, its keys unsealed with its sealer.
async fn token_function(world: &World, config: OAuthConfig, clock: Arc<dyn Clock>) -> TokenApp {
    let deps = Dependencies::over(world.store.clone(), config)
        .clock(clock)
        .build();
    let service = token_service_over(deps, world.store.clone(), Some(world.sealer.clone()))
        .await
        .expect("load the keyring");
    TokenApp::new(service)
}
