//! The CLI while `xecure serve` holds the data directory: commands run in the server through
//! its CLI endpoint (a Unix socket in the data directory), with the same results, passwords and audit records as on a
//! store the CLI opens itself.

mod support;

use std::os::unix::fs::PermissionsExt;
use support::{call, call_socket, client_credentials, demo_service_basic, start, Target};

/// A server holding a fresh data directory, its CLI endpoint up, and a CLI on that directory.
fn beside_a_server() -> (tempfile::TempDir, support::Server, Target) {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    server.wait_for_line("CLI beside this server: ");
    let cli = Target::Local(dir.path().to_owned());
    (dir, server, cli)
}

#[test]
fn commands_run_in_the_server_while_it_holds_the_data_directory() {
    let (_dir, server, cli) = beside_a_server();

    let added = cli.ok_with(&["user", "add", "carol"], "correct horse battery staple\n");
    assert!(added.starts_with("created user carol"), "{added}");
    let refused = cli.fails(&["user", "add", "dave"], "password1\n");
    assert!(refused.contains("most commonly used"), "{refused}");
    let missing = cli.fails(&["user", "disable", "nobody"], "");
    assert!(missing.contains("no user nobody"), "{missing}");
    let token = cli.ok(&["client", "registration-token"]);
    assert!(token.contains("initial_access_token: "), "{token}");

    // The server sees the new user at once: it is in the store the server serves from.
    let (status, _) = call(&server.address, "GET", "/healthz", &[], "");
    assert_eq!(status, 200);
    let audit = cli.ok(&["audit", "--user", "carol", "--json"]);
    assert!(
        audit.contains("\"operator\":\"test-operator (uid ") && audit.contains(" via xecure serve"),
        "{audit}"
    );
}

#[test]
fn the_endpoint_is_a_private_socket_in_the_data_directory_and_its_token_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, _) = start(dir.path());
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
    let file_path = dir.path().join("admin-endpoint");
    let socket = dir.path().join("admin.sock");
    assert_eq!(mode(&file_path) & 0o777, 0o600);
    assert_eq!(mode(&socket) & 0o777, 0o600);
    assert_eq!(
        mode(dir.path()) & 0o022,
        0,
        "no one else may create (or replace) the socket's path"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file_path).unwrap()).unwrap();
    assert!(file.get("port").is_none(), "no network port: {file}");
    let body = r#"{"args":["xecure","user","list"],"input":null,"operator":"x"}"#;
    let (status, _) = call_socket(
        &socket,
        "POST",
        "/run",
        &[("Authorization", "Bearer wrong")],
        body,
    );
    assert_eq!(status, 401);
    let (status, _) = call_socket(&socket, "POST", "/run", &[], body);
    assert_eq!(status, 401);
    let bearer = format!("Bearer {}", file["token"].as_str().unwrap());
    let (status, answer) = call_socket(
        &socket,
        "POST",
        "/run",
        &[("Authorization", &bearer)],
        "{not json",
    );
    assert_eq!(status, 400, "{answer}");
    let serve = r#"{"args":["xecure","serve"],"input":null,"operator":"x"}"#;
    let (status, answer) = call_socket(
        &socket,
        "POST",
        "/run",
        &[("Authorization", &bearer)],
        serve,
    );
    assert_eq!(status, 200);
    assert!(
        answer.contains("\"status\":1") && answer.contains("runs on its own"),
        "{answer}"
    );
}

#[test]
fn a_server_killed_without_cleaning_up_leaves_nothing_a_cli_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    server.wait_for_line("CLI beside this server: ");
    // SIGKILL: no chance to remove the socket or the endpoint file.
    drop(server);
    assert!(dir.path().join("admin.sock").exists());
    // The store is free again: the CLI opens it itself and never uses the dead socket.
    let cli = Target::Local(dir.path().to_owned());
    let listed = cli.ok(&["user", "list"]);
    assert!(listed.contains("demo"), "{listed}");
    // A new server replaces the stale socket and serves the CLI through it.
    let (server, _) = start(dir.path());
    server.wait_for_line("CLI beside this server: ");
    let listed = cli.ok(&["user", "list"]);
    assert!(listed.contains("demo"), "{listed}");
}

#[test]
fn a_held_data_directory_without_a_server_endpoint_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    std::fs::remove_file(dir.path().join("admin-endpoint")).unwrap();
    let refused = Target::Local(dir.path().to_owned()).fails(&["keys", "list"], "");
    assert!(refused.contains("is open in another process"), "{refused}");
    drop(server);
}

#[test]
fn failed_logins_are_found_by_the_account_name_and_an_unknown_name_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    // A wrong password for the demo account, then a password typed into the username field
    // (an unknown name): both fail alike; only the account's name is written down.
    for username in ["demo", "Tr0ub4dor-and-3"] {
        let signed = support::sign_in_at(
            &server.address,
            "/login?return=apps",
            username,
            "not a real one",
            &[],
        );
        assert!(
            signed.page.contains("incorrect"),
            "{}: {}",
            signed.status,
            signed.page
        );
    }

    let cli = Target::Local(dir.path().to_owned());
    let found = cli.ok(&["audit", "--login-name", "demo"]);
    let rows: Vec<&str> = found.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{found}");
    assert!(
        rows[0].contains("login_failed") && rows[0].contains(" usr_"),
        "{found}"
    );
    // Security rule 10: what may be a password never reaches the audit trail.
    let everything = cli.ok(&["audit", "--since", "1h"]);
    assert!(
        !everything.to_lowercase().contains("tr0ub4dor"),
        "{everything}"
    );
    assert_eq!(
        everything
            .lines()
            .filter(|row| row.contains("login_failed"))
            .count(),
        2,
        "both failures are recorded: {everything}"
    );
}

#[test]
fn a_client_the_operator_disables_beside_the_server_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start(dir.path());
    server.wait_for_line("CLI beside this server: ");
    let basic = demo_service_basic(&printed);
    let token = || client_credentials(&server.address, &basic);
    // The first answer puts the client in the server's cache.
    assert_eq!(token().0, 200);
    let cli = Target::Local(dir.path().to_owned());
    let disabled = cli.ok(&["client", "disable", "demo-service"]);
    assert!(disabled.contains("disabled"), "{disabled}");
    // Not up to a minute later (the cache's TTL): the command cleared the server's cache.
    let (status, body) = token();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_client"), "{body}");
}

/// Eight CLIs at once beside the server, twice: each command runs once in the server with
/// its own answer (each names its own app), none loses another's change (the eight plan
/// assignments all land in the one assignment file), and each change is audited once.
#[test]
fn concurrent_commands_beside_the_server_each_run_once() {
    let (_dir, _server, cli) = beside_a_server();
    let at_once = |command: &(dyn Fn(usize) -> Vec<String> + Sync)| {
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..8)
                .map(|i| {
                    let cli = &cli;
                    scope.spawn(move || {
                        let args = command(i);
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        (i, cli.ok(&args))
                    })
                })
                .collect();
            runs.into_iter()
                .map(|run| run.join().unwrap())
                .collect::<Vec<_>>()
        })
    };
    let added = at_once(&|i| {
        let uri = format!("https://app{i}.example/cb");
        [
            "client",
            "add",
            &format!("app{i}"),
            "--name",
            &format!("App {i}"),
        ]
        .into_iter()
        .chain(["--redirect-uri", &uri, "--scope", "orders:read"])
        .map(str::to_owned)
        .collect()
    });
    for (i, out) in &added {
        assert!(out.contains(&format!("app{i}")), "its own answer: {out}");
    }
    let assigned = at_once(&|i| {
        [
            "usage-plan",
            "assign",
            "--client",
            &format!("app{i}"),
            "--plan",
            "partner",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    });
    for (i, out) in &assigned {
        assert!(out.starts_with(&format!("app{i} is on partner")), "{out}");
    }
    let list = cli.ok(&["usage-plan", "list"]);
    let partner = list.lines().find(|l| l.starts_with("partner")).unwrap();
    for i in 0..8 {
        assert!(
            partner.contains(&format!("app{i}")),
            "no change lost: {list}"
        );
    }
    let trail = cli.ok(&["audit", "--since", "1h"]);
    let audited = |kind: &str, note: &str| {
        trail
            .lines()
            .filter(|line| line.contains(kind) && line.contains(note))
            .count()
    };
    assert_eq!(audited("client_registered", "app"), 8, "{trail}");
    assert_eq!(
        audited("client_changed", "usage_plan=partner"),
        8,
        "{trail}"
    );
}
