//! The `xecure` binary as an operator runs it, on a fresh data directory.

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

    let added = stdout(&xecure(
        dir.path(),
        &[
            "client",
            "add",
            "--id",
            "web-app",
            "--name",
            "Web App",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "profile:read orders:read",
        ],
    ));
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
    let cases: [(&[&str], &str); 5] = [
        (&["client", "remove", "ghost"], "no client ghost"),
        (
            &[
                "client",
                "add",
                "--id",
                "x",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example/cb#f",
                "--scope",
                "a",
            ],
            "fragment",
        ),
        (
            &[
                "client",
                "add",
                "--id",
                "a#b",
                "--name",
                "X",
                "--redirect-uri",
                "https://x.example/cb",
                "--scope",
                "a",
            ],
            "client_id",
        ),
        (
            &[
                "client",
                "add",
                "--id",
                "p",
                "--name",
                "P",
                "--public",
                "--grant",
                "client_credentials",
                "--redirect-uri",
                "https://x.example/cb",
                "--scope",
                "a",
            ],
            "public clients",
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
