//! The flow's decisions, without HTTP: who must log in, when consent is asked, what a
//! decision produces, and how tampering and lockouts are answered.

use super::*;
use crate::domain::{
    AuditEventKind, AuditQuery, AuditSubject, ClientId, ClientKind, GrantType, Password,
    PasswordHash, Scope, Timestamp, User, UserId, Username,
};
use crate::oauth::login::LoginOutcome;
use crate::ports::AccountAdmin;
use crate::ports::ClientRegistry;
use crate::ports::{AuditStore, Clock, CodeStore, GrantStore, UserStore};
use crate::store::embedded::EmbeddedStore;
use crate::testing::{FixedClock, SeqRng};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const T0: Timestamp = Timestamp::from_secs(1_900_000_000);
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ISSUER: &str = "https://auth.example";
const PASSWORD: &str = "correct horse battery";

struct Fixture {
    flow: AuthorizationFlow,
    store: Arc<EmbeddedStore>,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let clock = Arc::new(FixedClock::at(T0));
    store
        .put_client(&crate::domain::Client {
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
            allowed_scopes: Scope::parse("profile:read orders:read orders:write").unwrap(),
            default_scopes: Scope::parse("profile:read").unwrap(),
            grant_types: [GrantType::AuthorizationCode].into_iter().collect(),
            ..crate::domain::Client::new(
                ClientId::parse("photo-app").unwrap(),
                "Photo App",
                ClientKind::Public,
                T0,
            )
        })
        .await
        .unwrap();
    store
        .create_user(&User::new(
            UserId::parse("usr_alice").unwrap(),
            Username::parse("alice").unwrap(),
            PasswordHash::create(&Password::new(PASSWORD), &SeqRng::new(9)).unwrap(),
            T0,
        ))
        .await
        .unwrap();
    let mut interaction = InteractionConfig::default();
    interaction.login.max_account_failures = 3;
    interaction.login.max_source_failures = 10;
    let deps = Dependencies::over(store.clone(), OAuthConfig::for_issuer(ISSUER))
        .clock(clock.clone())
        .rng(Arc::new(SeqRng::new(1)))
        .build();
    let flow = AuthorizationFlow::new(deps, store.clone(), interaction);
    Fixture {
        flow,
        store,
        clock,
        _dir: dir,
    }
}

fn params(extra: &[(&str, &str)]) -> Params {
    let mut pairs: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "photo-app"),
        ("redirect_uri", "https://app.example/cb"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "st-1"),
        ("scope", "profile:read orders:read"),
    ]
    .iter()
    .filter(|(name, _)| !extra.iter().any(|(n, _)| n == name))
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    pairs.extend(
        extra
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.to_string(), v.to_string())),
    );
    Params::from_pairs(pairs).unwrap()
}

fn context() -> RequestContext {
    RequestContext {
        source_ip: Some("203.0.113.5".into()),
        ..RequestContext::default()
    }
}

impl Fixture {
    async fn login(&self, username: &str, password: &str) -> LoginOutcome {
        self.flow
            .login_service()
            .login(
                username,
                Password::new(password),
                Some(&ClientId::parse("photo-app").unwrap()),
                &context(),
            )
            .await
            .unwrap()
    }

    async fn session(&self) -> LoginSession {
        match self.login("alice", PASSWORD).await {
            LoginOutcome::LoggedIn { session, .. } => session,
            other => panic!("login failed: {other:?}"),
        }
    }

    async fn audit_kinds(&self) -> Vec<AuditEventKind> {
        let query = AuditQuery {
            subject: AuditSubject::Client(ClientId::parse("photo-app").unwrap()),
            from: T0.minus(Duration::from_secs(1)),
            to: self.clock.now().plus(Duration::from_secs(1)),
            limit: 100,
            cursor: None,
        };
        let page = self
            .store
            .query_audit(&query, self.clock.now())
            .await
            .unwrap();
        page.events.iter().rev().map(|e| e.kind).collect()
    }
}

fn handle_of(step: Step) -> String {
    match step {
        Step::ToLogin(handle) | Step::ToConsent(handle) => handle.secret().to_owned(),
        other => panic!("expected a hand-off, got {other:?}"),
    }
}

fn client_query(step: &Step) -> Vec<(String, String)> {
    let Step::ToClient(location) = step else {
        panic!("expected a redirect to the client, got {step:?}");
    };
    let url = Url::parse(location).unwrap();
    assert_eq!(url.origin().ascii_serialization(), "https://app.example");
    url.query_pairs().into_owned().collect()
}

fn value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn partial_approval_issues_a_code_for_the_approved_scopes_only() {
    let f = fixture().await;
    let handle = handle_of(f.flow.begin(&params(&[]), None, &context()).await);
    let session = f.session().await;
    let Step::ShowConsent(view) = f.flow.resume(&handle, Some(&session), &context()).await else {
        panic!("consent screen expected");
    };
    assert_eq!(view.client_name, "Photo App");
    assert_eq!(view.scopes.len(), 2);
    assert!(
        view.scopes.iter().all(|s| s.description != s.name),
        "described in words"
    );
    let step = f
        .flow
        .decide(
            &handle,
            Some(&session),
            Decision::Approve(vec!["orders:read".into()]),
            &context(),
        )
        .await;
    let query = client_query(&step);
    assert_eq!(value(&query, "state"), Some("st-1"));
    assert_eq!(value(&query, "iss"), Some(ISSUER));
    let code = value(&query, "code").unwrap();
    assert_eq!(code.len(), 43, "256 random bits, base64url");
    let stored = f
        .store
        .get_code(&TokenDigest::of(code), f.clock.now())
        .await
        .unwrap()
        .expect("the code is stored under its digest");
    assert_eq!(stored.scope, Scope::parse("orders:read").unwrap());
    assert_eq!(stored.code_challenge, CHALLENGE);
    assert_eq!(
        stored.expires_at,
        f.clock.now().plus(Duration::from_secs(60))
    );
    let grant = f
        .store
        .get_grant(&session.user_id, &stored.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.scope, Scope::parse("orders:read").unwrap());
    assert_eq!(grant.id, stored.grant_id);
    assert_eq!(
        f.flow
            .decide(&handle, Some(&session), Decision::Deny, &context())
            .await
            .error_code(),
        Some(ErrorCode::InvalidRequest),
        "the pending request is single-use"
    );
    let kinds = f.audit_kinds().await;
    for kind in [
        AuditEventKind::LoginSucceeded,
        AuditEventKind::ConsentGranted,
        AuditEventKind::CodeIssued,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} audited: {kinds:?}");
    }
}

#[tokio::test]
async fn rule_14_consent_is_asked_the_first_time_and_remembered_only_for_granted_scopes() {
    let f = fixture().await;
    let session = f.session().await;
    // Logged in, never consented: the screen, even though the session is live.
    let step = f.flow.begin(&params(&[]), Some(&session), &context()).await;
    assert!(matches!(step, Step::ToConsent(_)), "{step:?}");
    let handle = handle_of(step);
    let approve_all = Decision::Approve(vec!["profile:read".into(), "orders:read".into()]);
    f.flow
        .decide(&handle, Some(&session), approve_all, &context())
        .await;
    // Same scopes again: straight back to the client with a code.
    let again = f.flow.begin(&params(&[]), Some(&session), &context()).await;
    assert!(value(&client_query(&again), "code").is_some());
    // A scope never granted: asked again.
    let wider = params(&[("scope", "orders:read orders:write")]);
    assert!(matches!(
        f.flow.begin(&wider, Some(&session), &context()).await,
        Step::ToConsent(_)
    ));
    // prompt=consent: asked even though remembered.
    let forced = params(&[("prompt", "consent")]);
    let handle = handle_of(f.flow.begin(&forced, Some(&session), &context()).await);
    assert!(matches!(
        f.flow.resume(&handle, Some(&session), &context()).await,
        Step::ShowConsent(_)
    ));
}

#[tokio::test]
async fn denying_or_approving_nothing_answers_access_denied() {
    let f = fixture().await;
    let session = f.session().await;
    for decision in [Decision::Deny, Decision::Approve(vec![])] {
        let handle = handle_of(f.flow.begin(&params(&[]), Some(&session), &context()).await);
        let step = f
            .flow
            .decide(&handle, Some(&session), decision, &context())
            .await;
        let query = client_query(&step);
        assert_eq!(value(&query, "error"), Some("access_denied"));
        assert_eq!(value(&query, "state"), Some("st-1"));
        assert_eq!(value(&query, "iss"), Some(ISSUER));
    }
    assert!(f
        .audit_kinds()
        .await
        .contains(&AuditEventKind::ConsentDenied));
}

#[tokio::test]
async fn a_tampered_hand_off_is_an_error_page() {
    let f = fixture().await;
    let session = f.session().await;
    let handle = handle_of(f.flow.begin(&params(&[]), Some(&session), &context()).await);
    for forged in ["", "not-a-handle", &"x".repeat(500), &format!("{handle}x")] {
        assert_eq!(
            f.flow
                .resume(forged, Some(&session), &context())
                .await
                .error_code(),
            Some(ErrorCode::InvalidRequest),
            "{forged}"
        );
    }
    // A scope that was not requested cannot be slipped into the decision.
    let widened = Decision::Approve(vec!["orders:write".into()]);
    let step = f
        .flow
        .decide(&handle, Some(&session), widened, &context())
        .await;
    assert_eq!(step.error_code(), Some(ErrorCode::InvalidRequest));
    // Nothing was granted or spent by the refused decision.
    assert!(f
        .store
        .get_grant(&session.user_id, &ClientId::parse("photo-app").unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        f.flow.resume(&handle, Some(&session), &context()).await,
        Step::ShowConsent(_)
    ));
    // The pending request expires.
    f.clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(
        f.flow
            .resume(&handle, Some(&session), &context())
            .await
            .error_code(),
        Some(ErrorCode::InvalidRequest)
    );
}

#[tokio::test]
async fn prompt_none_never_shows_a_page() {
    let f = fixture().await;
    let none = params(&[("prompt", "none")]);
    let step = f.flow.begin(&none, None, &context()).await;
    assert_eq!(value(&client_query(&step), "error"), Some("login_required"));
    let session = f.session().await;
    let step = f.flow.begin(&none, Some(&session), &context()).await;
    assert_eq!(
        value(&client_query(&step), "error"),
        Some("consent_required")
    );
}

#[tokio::test]
async fn prompt_login_needs_a_login_after_the_request() {
    let f = fixture().await;
    let old_session = f.session().await;
    f.clock.advance(Duration::from_secs(5));
    let step = f
        .flow
        .begin(
            &params(&[("prompt", "login")]),
            Some(&old_session),
            &context(),
        )
        .await;
    assert!(matches!(step, Step::ToLogin(_)), "{step:?}");
    let handle = handle_of(step);
    // Going to the consent page with the old session does not skip the login.
    assert!(matches!(
        f.flow.resume(&handle, Some(&old_session), &context()).await,
        Step::ToLogin(_)
    ));
    f.clock.advance(Duration::from_secs(5));
    let fresh = f.session().await;
    assert!(matches!(
        f.flow.resume(&handle, Some(&fresh), &context()).await,
        Step::ShowConsent(_)
    ));
}

#[tokio::test]
async fn rule_13_failures_lock_the_account_without_saying_whether_it_exists() {
    let f = fixture().await;
    for name in ["alice", "nobody-here"] {
        for _ in 0..2 {
            assert!(matches!(
                f.login(name, "wrong").await,
                LoginOutcome::Refused
            ));
        }
        // The third failure locks, for an existing and an unknown account alike.
        let LoginOutcome::LockedOut { retry_after_secs } = f.login(name, "wrong").await else {
            panic!("lockout expected for {name}");
        };
        assert_eq!(retry_after_secs, 15 * 60);
    }
    // Locked: even the right password is not checked.
    assert!(matches!(
        f.login("alice", PASSWORD).await,
        LoginOutcome::LockedOut { .. }
    ));
    f.clock.advance(Duration::from_secs(15 * 60));
    assert!(matches!(
        f.login("alice", PASSWORD).await,
        LoginOutcome::LoggedIn { .. }
    ));
    let kinds = f.audit_kinds().await;
    assert!(kinds.contains(&AuditEventKind::LoginFailed));
    assert!(kinds.contains(&AuditEventKind::LoginLocked));
    let failures = f
        .store
        .query_audit(
            &AuditQuery {
                subject: AuditSubject::User(UserId::parse("usr_alice").unwrap()),
                from: T0,
                to: f.clock.now().plus(Duration::from_secs(1)),
                limit: 100,
                cursor: None,
            },
            f.clock.now(),
        )
        .await
        .unwrap();
    let reasons: Vec<_> = failures
        .events
        .iter()
        .filter_map(|e| e.reason.as_deref())
        .collect();
    assert!(
        reasons.contains(&"bad_password"),
        "reason kept internally: {reasons:?}"
    );
    assert!(reasons.contains(&"account_locked"));
}

#[tokio::test]
async fn rule_13_failures_from_one_source_lock_that_source() {
    let f = fixture().await;
    for n in 0..10 {
        let outcome = f.login(&format!("user{n}"), "wrong").await;
        assert_eq!(
            matches!(outcome, LoginOutcome::LockedOut { .. }),
            n == 9,
            "{n}"
        );
    }
    assert!(matches!(
        f.login("alice", PASSWORD).await,
        LoginOutcome::LockedOut { .. }
    ));
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let f = fixture().await;
    let mut alice = f
        .store
        .get_user_by_username(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    alice.disabled = true;
    alice.version += 1;
    f.store.update_user(&alice, None).await.unwrap();
    assert!(matches!(
        f.login("alice", PASSWORD).await,
        LoginOutcome::Refused
    ));
}

impl Step {
    fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Step::ShowError(error) => Some(error.code),
            _ => None,
        }
    }
}

#[tokio::test]
async fn an_unreachable_store_fails_closed_with_temporarily_unavailable() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let aws = crate::testing::moto::sdk_config_for("http://127.0.0.1:9");
    let store = Arc::new(crate::store::dynamo::DynamoStore::from_config(
        &aws, "absent",
    ));
    let deps = Dependencies::over(store.clone(), OAuthConfig::for_issuer(ISSUER))
        .clock(Arc::new(FixedClock::at(T0)))
        .rng(Arc::new(SeqRng::new(3)))
        .build();
    let flow = AuthorizationFlow::new(deps, store, InteractionConfig::default());
    let step = flow.begin(&params(&[]), None, &context()).await;
    assert_eq!(step.error_code(), Some(ErrorCode::TemporarilyUnavailable));
    let login = flow
        .login_service()
        .login(
            "alice",
            Password::new(PASSWORD),
            Some(&ClientId::parse("photo-app").unwrap()),
            &context(),
        )
        .await;
    assert_eq!(
        login.map(|_| ()).unwrap_err().code,
        ErrorCode::TemporarilyUnavailable,
        "no login without the counters"
    );
}

#[tokio::test]
async fn a_successful_login_forgets_the_account_failures() {
    let f = fixture().await;
    for _ in 0..2 {
        assert!(matches!(
            f.login("alice", "wrong").await,
            LoginOutcome::Refused
        ));
    }
    f.session().await;
    // Two more failures: under the limit of 3 again, because the success reset the count.
    for _ in 0..2 {
        assert!(matches!(
            f.login("alice", "wrong").await,
            LoginOutcome::Refused
        ));
    }
}

#[tokio::test]
async fn max_age_holds_when_the_code_is_issued_too() {
    let f = fixture().await;
    let handle = handle_of(
        f.flow
            .begin(&params(&[("max_age", "60")]), None, &context())
            .await,
    );
    let session = f.session().await;
    let Step::ShowConsent(_) = f.flow.resume(&handle, Some(&session), &context()).await else {
        panic!("consent screen expected");
    };
    // The consent page stays open past max_age and the 30 s leeway.
    f.clock.advance(Duration::from_secs(91));
    let step = f
        .flow
        .decide(
            &handle,
            Some(&session),
            Decision::Approve(vec!["profile:read".into()]),
            &context(),
        )
        .await;
    let query = client_query(&step);
    assert_eq!(value(&query, "error"), Some("login_required"));
    assert_eq!(
        value(&query, "code"),
        None,
        "no code for a sign-in that old"
    );
}
