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
use xecure::domain::{GrantType, Timestamp};
use xecure::jwt::{sign_access_token, verify_access_token, AccessTokenClaims, TokenExpectations};
use xecure::oauth::Dependencies;
use xecure::ports::{Clock, SystemClock};
use xecure::signing::SigningAlgorithm;
use xecure::testing::{ClientFixture, World};
use xecure::wiring::token_service_over;

const ISSUER: &str = "https://auth.example";

struct Setup {
    app: TokenApp,
    keyring: Arc<xecure::signing::Keyring>,
    _world: World,
}

async fn setup(algorithm: SigningAlgorithm) -> Setup {
    let world = World::embedded();
    let service = ClientFixture::confidential("bench-service", "bench-secret")
        .redirect("https://svc.example/cb")
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::ClientCredentials]);
    world.register(service, Timestamp::from_secs(0)).await;
    let now = SystemClock.now();
    world
        .rotate_signing_key_as(algorithm, now, Duration::ZERO, Duration::from_secs(900))
        .await;
    let mut config = OAuthConfig::for_issuer(ISSUER);
    config.signing_algorithm = algorithm;
    let deps = Dependencies::over(world.store.clone(), config).build();
    let service = token_service_over(deps, world.store.clone(), Some(world.sealer.clone()))
        .await
        .unwrap();
    let app = TokenApp::new(service);
    Setup {
        keyring: app.keyring().current().await,
        app,
        _world: world,
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
        nbf: None,
        cnf: None,
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
