//! Issue goal: client_credentials issuance in process with the embedded store at >= 10,000
//! tokens/s per core. Measured three ways, to show where the time goes: signing alone, the
//! whole endpoint (client auth, scope, signing, audit record into the embedded store), and
//! verification (what the gateway authorizer pays per API call).
//!
//!     cargo bench -p token --bench issuance

use criterion::{criterion_group, criterion_main, Criterion};
use lambda_http::Body;
use std::sync::Arc;
use std::time::Duration;
use token::handler::{handle, TokenApp};
use xecure::config::OAuthConfig;
use xecure::domain::{
    Client, ClientId, ClientKind, ClientSecret, GrantType, RedirectUri, Scope, SecretHash,
    Timestamp,
};
use xecure::jwt::{sign_access_token, verify_access_token, AccessTokenClaims, TokenExpectations};
use xecure::oauth::token::TokenService;
use xecure::oauth::Dependencies;
use xecure::ports::{Clock, OsRng, Store, SystemClock};
use xecure::signing::{rotate_signing_key, LiveKeyring, LocalKeySealer, SigningAlgorithm};
use xecure::store::embedded::EmbeddedStore;

const ISSUER: &str = "https://auth.example";

struct Setup {
    app: TokenApp,
    keyring: Arc<xecure::signing::Keyring>,
    _dir: tempfile::TempDir,
}

async fn setup(algorithm: SigningAlgorithm) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let sealer = Arc::new(LocalKeySealer::open(dir.path()).unwrap());
    let client = Client {
        redirect_uris: vec![RedirectUri::parse("https://svc.example/cb").unwrap()],
        allowed_scopes: Scope::parse("orders:read").unwrap(),
        default_scopes: Scope::parse("orders:read").unwrap(),
        grant_types: [GrantType::ClientCredentials].into_iter().collect(),
        ..Client::new(
            ClientId::parse("bench-service").unwrap(),
            "bench",
            ClientKind::Confidential {
                secret_hash: SecretHash::of(&ClientSecret::new("bench-secret")),
            },
            Timestamp::from_secs(0),
        )
    };
    store.put_client(&client).await.unwrap();
    let clock = Arc::new(SystemClock);
    rotate_signing_key(
        store.as_ref(),
        sealer.as_ref(),
        &OsRng,
        algorithm,
        clock.now(),
        Duration::ZERO,
        Duration::from_secs(900),
    )
    .await
    .unwrap();
    let keyring = LiveKeyring::load(
        store.clone(),
        Some(sealer),
        clock.clone(),
        Duration::from_secs(300),
    )
    .await
    .unwrap();
    let current = keyring.current().await;
    let mut config = OAuthConfig::for_issuer(ISSUER);
    config.signing_algorithm = algorithm;
    let deps = Dependencies::over(store.clone(), config)
        .clock(clock)
        .build();
    Setup {
        app: TokenApp::new(TokenService::new(deps, store, Arc::new(keyring))),
        keyring: current,
        _dir: dir,
    }
}

fn request() -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "Basic YmVuY2gtc2VydmljZTpiZW5jaC1zZWNyZXQ=",
        )
        .body(Body::from("grant_type=client_credentials"))
        .unwrap()
}

fn claims() -> AccessTokenClaims {
    let now = SystemClock.now().as_secs();
    AccessTokenClaims {
        iss: ISSUER.into(),
        sub: "client:bench-service".into(),
        aud: format!("{ISSUER}/api"),
        exp: now + 600,
        iat: now,
        jti: "bench-jti".into(),
        client_id: "bench-service".into(),
        scope: "orders:read".into(),
        gid: None,
        fid: None,
        crv: None,
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for algorithm in [SigningAlgorithm::EdDsa, SigningAlgorithm::Es256] {
        let setup = runtime.block_on(setup(algorithm));
        let claims = claims();
        c.bench_function(&format!("sign access token ({algorithm})"), |b| {
            b.iter(|| sign_access_token(&setup.keyring, &claims).unwrap())
        });
        let token = sign_access_token(&setup.keyring, &claims).unwrap();
        let expect = TokenExpectations {
            issuer: ISSUER.into(),
            audience: format!("{ISSUER}/api"),
            leeway_secs: 30,
        };
        c.bench_function(&format!("verify access token ({algorithm})"), |b| {
            b.iter(|| {
                verify_access_token(&setup.keyring, &token, &expect, SystemClock.now()).unwrap()
            })
        });
        c.bench_function(
            &format!("POST /token client_credentials, embedded store ({algorithm})"),
            |b| {
                b.iter(|| {
                    let response = runtime.block_on(handle(&setup.app, request())).unwrap();
                    assert_eq!(response.status(), 200);
                })
            },
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
