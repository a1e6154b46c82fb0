//! `xecure serve` with a `private_key_jwt` client whose keys live at a loopback `jwks_uri`,
//! registered with the CLI beside the server as the README says: a local run (an http
//! loopback issuer) fetches loopback key hosts, and the client gets a token with an
//! assertion signed by its published key. The CLI refuses a jwks_uri that is not https
//! (except loopback) and `--jwks` with `--jwks-uri`.

mod support;

use serde_json::json;
use support::{call, start, Target};
use xecure::ports::{Clock, SystemClock};
use xecure::signing::SigningAlgorithm;
use xecure::testing::{Answer, DpopKey, KeyHost};

#[test]
fn a_local_run_authenticates_a_client_with_keys_at_its_jwks_uri() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let mut jwk = key.jwk.clone();
    jwk["kid"] = json!("k1");
    let host = runtime.block_on(KeyHost::start(Answer::Json(json!({ "keys": [jwk] }))));

    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    server.wait_for_line("CLI beside this server: ");
    let cli = Target::Local(dir.path().to_owned());
    let add = |extra: &[&str]| {
        let mut args = vec![
            "client",
            "add",
            "url-signer",
            "--name",
            "URL Signer",
            "--scope",
            "orders:read",
            "--grant",
            "client_credentials",
            "--auth-method",
            "private_key_jwt",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let refused = |extra: &[&str]| {
        let args = add(extra);
        cli.fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), "")
    };
    assert!(refused(&["--jwks-uri", "http://signer.example/jwks.json"]).contains("https"));
    assert!(refused(&["--jwks-uri", &host.jwks_uri(), "--jwks", "keys.json"]).contains("jwks"));
    let args = add(&["--jwks-uri", &host.jwks_uri()]);
    cli.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let shown = cli.ok(&["client", "show", "url-signer"]);
    assert!(shown.contains(&host.jwks_uri()), "{shown}");

    let now = SystemClock.now().as_secs();
    let issuer = format!("http://{}", server.address);
    let (mut header, _) = key.parts("POST", &issuer, None, SystemClock.now());
    header["typ"] = json!("JWT");
    header["kid"] = json!("k1");
    header.as_object_mut().unwrap().remove("jwk");
    let assertion = key.sign(
        &header,
        &json!({ "iss": "url-signer", "sub": "url-signer", "aud": issuer,
                 "exp": now + 60, "jti": "serve-1" }),
    );
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    );
    let (status, answer) = call(
        &server.address,
        "POST",
        "/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("access_token"), "{answer}");
    assert_eq!(host.requests(), 1);
}
