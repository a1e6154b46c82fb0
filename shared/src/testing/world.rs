//! The test fixture the suites over a whole store start from (issue #18): a store with its key
//! sealer beside it (the embedded store in a temporary directory, or a fresh DynamoDB table
//! with a fresh KMS key on moto), and the set-up the tests would otherwise each write again:
//! registering a client, creating a user, rotating in a signing key, loading the keyring.

use crate::domain::{
    AuthMethod, Client, ClientId, ClientKind, ClientSecret, GrantType, OpenIdSettings, Password,
    PasswordHash, RedirectUri, Scope, SecretHash, SigningKey, Timestamp, User, UserId, Username,
};
use crate::ports::{Clock, OsRng, Store};
use crate::signing::{
    ensure_id_token_key, rotate_signing_key, KeySealer, KmsKeySealer, LiveKeyring, LocalKeySealer,
    SigningAlgorithm,
};
use crate::store::embedded::EmbeddedStore;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A store and the sealer of its signing keys, as a deployment or a data directory has them.
pub struct World {
    pub store: Arc<dyn Store>,
    pub sealer: Arc<dyn KeySealer>,
    /// The embedded store's directory, removed when the world is dropped.
    dir: Option<tempfile::TempDir>,
}

impl World {
    /// The embedded store and the local key sealer in a new temporary directory.
    pub fn embedded() -> World {
        let dir = tempfile::tempdir().expect("a temporary directory");
        World {
            store: Arc::new(EmbeddedStore::open(dir.path()).expect("open the embedded store")),
            sealer: Arc::new(LocalKeySealer::open(dir.path()).expect("a local key sealer")),
            dir: Some(dir),
        }
    }

    /// A fresh DynamoDB table, its signing keys sealed under a fresh KMS key (moto).
    pub async fn dynamodb() -> World {
        Self::on_table(super::moto::fresh_store().await).await
    }

    /// As `dynamodb`, counting every DynamoDB call the store makes.
    pub async fn dynamodb_counted(counter: super::moto::CallCounter) -> World {
        Self::on_table(super::moto::fresh_store_with(Some(counter)).await).await
    }

    async fn on_table(table: crate::store::dynamo::DynamoStore) -> World {
        let (aws, key_id) = super::moto::fresh_kms_key().await;
        World {
            store: Arc::new(table),
            sealer: Arc::new(KmsKeySealer::from_config(&aws, key_id)),
            dir: None,
        }
    }

    /// The embedded store's data directory (None on DynamoDB).
    pub fn data_dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|dir| dir.path())
    }

    /// `xecure keys rotate` at `now`: a new EdDSA key that signs `publish_ahead` later; every
    /// earlier key retires `old_tokens_live` after that.
    pub async fn rotate_signing_key(
        &self,
        now: Timestamp,
        publish_ahead: Duration,
        old_tokens_live: Duration,
    ) -> SigningKey {
        self.rotate_signing_key_as(SigningAlgorithm::EdDsa, now, publish_ahead, old_tokens_live)
            .await
    }

    /// The RS256 key ID tokens are signed with by default (what the first `xecure keys
    /// rotate` also creates), if there is none yet.
    pub async fn add_id_token_key(&self, now: Timestamp) {
        ensure_id_token_key(
            self.store.as_ref(),
            self.sealer.as_ref(),
            &OsRng,
            now,
            Duration::ZERO,
            Duration::from_secs(900),
        )
        .await
        .expect("the ID token key is created");
    }

    /// As `rotate_signing_key`, the new key of `algorithm`.
    pub async fn rotate_signing_key_as(
        &self,
        algorithm: SigningAlgorithm,
        now: Timestamp,
        publish_ahead: Duration,
        old_tokens_live: Duration,
    ) -> SigningKey {
        rotate_signing_key(
            self.store.as_ref(),
            self.sealer.as_ref(),
            &OsRng,
            algorithm,
            now,
            publish_ahead,
            old_tokens_live,
        )
        .await
        .expect("the signing key rotates")
    }

    /// The token function's keyring as a cold start loads it (re-read every
    /// `wiring::KEYRING_RELOAD`).
    pub async fn keyring(&self, clock: Arc<dyn Clock>) -> LiveKeyring {
        LiveKeyring::load(
            self.store.clone(),
            Some(self.sealer.clone()),
            clock,
            crate::wiring::KEYRING_RELOAD,
        )
        .await
        .expect("load the keyring")
    }

    /// Registers `client` as `xecure client add` would.
    pub async fn register(&self, client: ClientFixture, now: Timestamp) -> Client {
        let client = client.at(now);
        self.store
            .put_client(&client)
            .await
            .expect("register the client");
        client
    }

    /// Creates the account `username` with `password` (argon2, as `xecure user add` hashes it).
    pub async fn create_user(&self, username: &str, password: &str, now: Timestamp) -> User {
        let hash = PasswordHash::create(&Password::new(password), &OsRng).expect("hash");
        self.create_user_with(UserId::generate(&OsRng), username, hash, now)
            .await
    }

    /// Creates the account `username` under a given id and password hash.
    pub async fn create_user_with(
        &self,
        id: UserId,
        username: &str,
        password: PasswordHash,
        now: Timestamp,
    ) -> User {
        let user = User::new(
            id,
            Username::parse(username).expect("a username"),
            password,
            now,
        );
        self.store
            .create_user(&user)
            .await
            .expect("create the user");
        user
    }
}

/// A client registration written for a test: `ClientFixture::confidential("web", SECRET)
/// .redirect(URI).scopes("a b", "a").grants(&[..])`, then `World::register` or `at(now)`.
#[derive(Clone)]
pub struct ClientFixture {
    id: String,
    name: Option<String>,
    kind: ClientKind,
    redirect_uris: Vec<RedirectUri>,
    allowed_scopes: Scope,
    default_scopes: Scope,
    grant_types: Vec<GrantType>,
    auth_method: Option<AuthMethod>,
    openid: OpenIdSettings,
    dpop_bound_access_tokens: bool,
    require_pushed_requests: bool,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
}

impl ClientFixture {
    /// A confidential client authenticating with `secret`.
    pub fn confidential(id: &str, secret: &str) -> ClientFixture {
        Self::of(
            id,
            ClientKind::Confidential {
                secret_hash: SecretHash::of(&ClientSecret::new(secret)),
            },
        )
    }

    /// A public client (PKCE, no secret).
    pub fn public(id: &str) -> ClientFixture {
        Self::of(id, ClientKind::Public)
    }

    fn of(id: &str, kind: ClientKind) -> ClientFixture {
        ClientFixture {
            id: id.to_owned(),
            name: None,
            kind,
            redirect_uris: Vec::new(),
            allowed_scopes: Scope::default(),
            default_scopes: Scope::default(),
            grant_types: Vec::new(),
            auth_method: None,
            openid: OpenIdSettings::default(),
            dpop_bound_access_tokens: false,
            require_pushed_requests: false,
            jwks: None,
            jwks_uri: None,
        }
    }

    /// The name the consent page shows (the id when not given).
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn redirect(mut self, uri: &str) -> Self {
        self.redirect_uris
            .push(RedirectUri::parse(uri).expect("a redirect URI"));
        self
    }

    /// The scopes it may ask for, and those it gets when it asks for none.
    pub fn scopes(mut self, allowed: &str, default: &str) -> Self {
        self.allowed_scopes = Scope::parse(allowed).expect("allowed scopes");
        self.default_scopes = Scope::parse(default).expect("default scopes");
        self
    }

    pub fn grants(mut self, grants: &[GrantType]) -> Self {
        self.grant_types = grants.to_vec();
        self
    }

    /// The token endpoint authentication method (RFC 7591 section 2), when not the default.
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// Its OpenID Connect registration metadata.
    pub fn openid(mut self, settings: OpenIdSettings) -> Self {
        self.openid = settings;
        self
    }

    /// Registered with `dpop_bound_access_tokens` (RFC 9449 section 5.2).
    pub fn dpop_bound(mut self) -> Self {
        self.dpop_bound_access_tokens = true;
        self
    }

    /// Registered with `require_pushed_authorization_requests` (RFC 9126 section 6).
    pub fn require_pushed_requests(mut self) -> Self {
        self.require_pushed_requests = true;
        self
    }

    /// Authenticates with `private_key_jwt` (RFC 7523) with these public keys (a JWK Set).
    pub fn private_key_jwt(mut self, jwks: serde_json::Value) -> Self {
        self.auth_method = Some(AuthMethod::PrivateKeyJwt);
        self.jwks = Some(jwks);
        self
    }

    /// Authenticates with `private_key_jwt`, its keys published at `jwks_uri`.
    pub fn private_key_jwt_at(mut self, jwks_uri: &str) -> Self {
        self.auth_method = Some(AuthMethod::PrivateKeyJwt);
        self.jwks_uri = Some(jwks_uri.to_owned());
        self
    }

    /// The registration as created at `now`.
    pub fn at(self, now: Timestamp) -> Client {
        let name = self.name.unwrap_or_else(|| self.id.clone());
        Client {
            redirect_uris: self.redirect_uris,
            allowed_scopes: self.allowed_scopes,
            default_scopes: self.default_scopes,
            grant_types: self.grant_types.into_iter().collect(),
            auth_method: self.auth_method,
            openid: self.openid,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_requests,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            ..Client::new(
                ClientId::parse(&self.id).expect("a client id"),
                name,
                self.kind,
                now,
            )
        }
    }
}
