//! The `xecure` binary as an operator runs it, on a fresh data directory.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn xecure(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xecure"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("XECURE_TABLE")
        .output()
        .expect("run xecure")
}

/// Registers the confidential client `web-app` with `scope`.
fn add_web_app(data_dir: &Path, scope: &str) -> Output {
    let args = ["client", "add", "web-app", "--name", "Web App"];
    let uri = ["--redirect-uri", "https://app.example/cb", "--scope", scope];
    xecure(data_dir, &[&args[..], &uri[..]].concat())
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "xecure failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn keys_and_clients_round_trip_on_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let created = stdout(&xecure(dir.path(), &["keys", "rotate"]));
    assert!(created.starts_with("created EdDSA key key_"), "{created}");
    let rotated = stdout(&xecure(
        dir.path(),
        &["keys", "rotate", "--algorithm", "ES256"],
    ));
    assert!(rotated.contains("ES256"));
    let listed = stdout(&xecure(dir.path(), &["keys", "list"]));
    assert!(
        listed.contains("retiring (verifies only)") && listed.contains("published (signs later)"),
        "{listed}"
    );

    let added = stdout(&add_web_app(dir.path(), "profile:read orders:read"));
    let secret = added
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .expect("the secret is printed once");
    assert_eq!(secret.len(), 43);
    let shown = stdout(&xecure(dir.path(), &["client", "show", "web-app"]));
    assert!(!shown.contains(secret), "the secret is not stored");
    assert!(shown.contains("\"secret_hash\""));
    assert!(stdout(&xecure(dir.path(), &["client", "list"])).contains("web-app"));
    assert!(stdout(&xecure(dir.path(), &["client", "remove", "web-app"])).contains("revoked"));
    assert!(!stdout(&xecure(dir.path(), &["client", "list"])).contains("web-app"));
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failing_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["client", "remove", "ghost"], "no client ghost"),
        (
            &[
                "client",
                "add",
                "x",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example/cb#f",
                "--scope",
                "orders:read",
            ],
            "fragment",
        ),
        (
            &[
                "client",
                "add",
                "a#b",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example/cb",
                "--scope",
                "orders:read",
            ],
            "client_id",
        ),
        (
            &[
                "client",
                "add",
                "p",
                "--name",
                "P",
                "--public",
                "--grant",
                "client_credentials",
                "--redirect-uri",
                "https://x.example/cb",
                "--scope",
                "orders:read",
            ],
            "public clients",
        ),
        (
            &[
                "client",
                "add",
                "u",
                "--name",
                "U",
                "--redirect-uri",
                "https://x.example/cb",
                "--scope",
                "orders:read admin",
            ],
            "unknown scope admin",
        ),
        (&["keys", "rotate", "--algorithm", "none"], "not supported"),
    ];
    for (args, expected) in cases {
        let output = xecure(dir.path(), args);
        assert!(!output.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let unknown_flag = xecure(dir.path(), &["keys", "--frobnicate"]);
    assert!(!unknown_flag.status.success());
}

fn xecure_with_stdin(data_dir: &Path, args: &[&str], input: &str) -> Output {
    support::Target::Local(data_dir.to_owned()).run(args, input)
}

#[test]
fn users_are_added_with_a_password_from_stdin_disabled_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let add = ["user", "add", "Alice"];
    let created = stdout(&xecure_with_stdin(dir.path(), &add, "a long passphrase\n"));
    assert!(created.starts_with("created user alice (usr_"), "{created}");
    let again = xecure_with_stdin(dir.path(), &add, "another passphrase\n");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = xecure_with_stdin(dir.path(), &["user", "add", "bob"], "short\n");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    let passwd = ["user", "passwd", "alice"];
    assert!(stdout(&xecure_with_stdin(
        dir.path(),
        &passwd,
        "a new passphrase\n"
    ))
    .contains("changed"));
    assert!(!xecure_with_stdin(
        dir.path(),
        &["user", "passwd", "nobody"],
        "a new passphrase\n"
    )
    .status
    .success());
    assert!(stdout(&xecure(dir.path(), &["user", "disable", "alice"])).contains("disabled"));
    assert!(stdout(&xecure(dir.path(), &["user", "remove", "alice"])).contains("removed"));
    assert!(!xecure(dir.path(), &["user", "remove", "alice"])
        .status
        .success());
}

#[test]
fn scopes_and_audit_show_what_is_configured_and_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let scopes = stdout(&xecure(dir.path(), &["scopes"]));
    assert!(
        scopes.contains("orders:read") && scopes.contains("See your orders"),
        "{scopes}"
    );
    stdout(&add_web_app(dir.path(), "orders:read"));
    let table = stdout(&xecure(dir.path(), &["audit", "--client", "web-app"]));
    assert!(table.lines().next().unwrap().starts_with("time"), "{table}");
    assert!(table.contains("client_registered"), "{table}");
    let json = stdout(&xecure(
        dir.path(),
        &[
            "audit",
            "--client",
            "web-app",
            "--json",
            "--event",
            "client_registered",
        ],
    ));
    let event: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(event["kind"], "client_registered");
    let none = stdout(&xecure(
        dir.path(),
        &["audit", "--client", "web-app", "--event", "login_failed"],
    ));
    assert_eq!(none.lines().count(), 1, "only the header: {none}");
    for (args, expected) in [
        (
            &["audit", "--client", "web-app", "--event", "nonsense"][..],
            "unknown event kind",
        ),
        (
            &["audit", "--client", "web-app", "--since", "yesterday"][..],
            "RFC 3339",
        ),
        (&["audit", "--user", "ghost"][..], "no user ghost"),
    ] {
        let output = xecure(dir.path(), args);
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(expected),
            "{args:?}"
        );
    }
}

#[test]
fn an_unreachable_dynamodb_endpoint_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_xecure"))
        .args([
            "--dynamodb-table",
            "absent",
            "--endpoint",
            "http://127.0.0.1:9",
        ])
        .args(["client", "list"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run xecure");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("xecure: store unavailable"), "{stderr}");
}

#[test]
fn clients_are_disabled_and_enabled_and_registration_tokens_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&add_web_app(dir.path(), "profile:read"));
    let disabled = stdout(&xecure(dir.path(), &["client", "disable", "web-app"]));
    assert!(
        disabled.contains("disabled client web-app; revoked 0 user grant(s)"),
        "{disabled}"
    );
    assert!(
        stdout(&xecure(dir.path(), &["client", "show", "web-app"])).contains("\"disabled\": true")
    );
    let enabled = stdout(&xecure(
        dir.path(),
        &["client", "disable", "web-app", "--undo"],
    ));
    assert!(enabled.contains("enabled client web-app"), "{enabled}");
    assert!(!stdout(&xecure(dir.path(), &["client", "show", "web-app"])).contains("disabled"));
    assert!(!xecure(dir.path(), &["client", "disable", "ghost"])
        .status
        .success());

    let issued = stdout(&xecure(
        dir.path(),
        &["client", "registration-token", "--hours", "2"],
    ));
    let token = issued
        .lines()
        .find_map(|line| line.strip_prefix("initial_access_token: "))
        .expect("the token is printed once");
    assert_eq!(token.len(), 43);
    assert!(!xecure(
        dir.path(),
        &["client", "registration-token", "--hours", "0"]
    )
    .status
    .success());
    let audit = stdout(&xecure(
        dir.path(),
        &["audit", "--client", "web-app", "--json"],
    ));
    assert!(audit.contains("client_changed"), "{audit}");
}

#[test]
fn user_controls_say_what_they_cut_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let add = ["user", "add", "carol"];
    stdout(&xecure_with_stdin(dir.path(), &add, "a long passphrase\n"));
    let cut = "sessions, codes and refresh tokens ended now; its access tokens stop at the gateway within 60 s";
    for (args, said) in [
        (
            &["user", "sign-out", "carol"][..],
            "signed carol out everywhere",
        ),
        (&["user", "disable", "carol"][..], "disabled user carol"),
    ] {
        let out = stdout(&xecure(dir.path(), args));
        assert!(out.contains(said) && out.contains(cut), "{out}");
    }
    let enabled = stdout(&xecure(dir.path(), &["user", "disable", "carol", "--undo"]));
    assert!(
        enabled.contains("what the disable ended stays ended"),
        "{enabled}"
    );
    let audit = stdout(&xecure(dir.path(), &["audit", "--user", "carol", "--json"]));
    for kind in [
        "user_created",
        "signed_out_everywhere",
        "user_disabled",
        "user_enabled",
    ] {
        assert!(
            audit.contains(&format!("\"kind\":\"{kind}\"")),
            "{kind}: {audit}"
        );
    }
    assert!(!xecure(dir.path(), &["user", "sign-out", "nobody"])
        .status
        .success());
}

#[test]
fn client_updates_verify_and_user_scopes_without_a_user() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&add_web_app(dir.path(), "profile:read"));
    let renamed = stdout(&xecure(
        dir.path(),
        &["client", "update", "web-app", "--name", "Web App 2"],
    ));
    assert!(
        renamed.contains("nothing it was granted changed"),
        "{renamed}"
    );
    let moved = stdout(&xecure(
        dir.path(),
        &[
            "client",
            "update",
            "web-app",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "https://new.example/cb",
        ],
    ));
    assert!(
        moved.contains("revision 1") && moved.contains("users are asked again"),
        "{moved}"
    );
    let verified = stdout(&xecure(dir.path(), &["client", "verify", "web-app"]));
    assert!(verified.contains("is verified"), "{verified}");
    assert!(
        stdout(&xecure(dir.path(), &["client", "show", "web-app"])).contains("\"verified\": true")
    );

    // A client with no user behind it gets no scope that acts on a user's data.
    let machine = [
        "client",
        "add",
        "export",
        "--name",
        "Export",
        "--grant",
        "client_credentials",
        "--scope",
        "orders:read orders:write",
    ];
    let refused = xecure(dir.path(), &machine);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("orders:write"));
    let mut ok = machine;
    ok[8] = "orders:read";
    let added = stdout(&xecure(dir.path(), &ok));
    assert!(
        added.contains("client_secret: "),
        "no redirect URI needed: {added}"
    );
    let code_flow_without_uri = [
        "client",
        "add",
        "nouri",
        "--name",
        "N",
        "--scope",
        "profile:read",
    ];
    let refused = xecure(dir.path(), &code_flow_without_uri);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--redirect-uri"));
}

/// Times are shown in RFC 3339 in the operator's offset (`TZ`; POSIX `XST-5:30` is five and a
/// half hours east of UTC), and a date typed in is the start of that local day.
#[test]
fn times_read_and_typed_are_local() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&xecure(dir.path(), &["keys", "rotate"]));
    let in_zone = |zone: &str, args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_xecure"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("XECURE_TABLE")
            .env("TZ", zone)
            .output()
            .expect("run xecure");
        stdout(&output)
    };
    let east = in_zone("XST-5:30", &["keys", "list"]);
    assert!(east.contains("+05:30 "), "{east}");
    let utc = in_zone("UTC", &["keys", "list"]);
    assert!(utc.contains("Z ") && !utc.contains("+05:30"), "{utc}");
    // The key was rotated (and audited) just now: from the local day's start in either zone,
    // the record is found; from tomorrow's, not.
    for zone in ["XST-5:30", "XST+9"] {
        let today = in_zone(zone, &["keys", "list"])
            .lines()
            .nth(1)
            .and_then(|row| row.split_whitespace().nth(2))
            .map(|created| created[..10].to_owned())
            .expect("the key's creation time");
        let trail = in_zone(zone, &["audit", "--since", &today]);
        assert!(trail.contains("key_rotated"), "{zone} {today}: {trail}");
    }
}
