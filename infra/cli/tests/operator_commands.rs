//! The operator's commands of #17 on both stores: a data directory and a DynamoDB table
//! (moto). Each scenario is one function run once per store.

mod support;

use support::Target;

fn local() -> (tempfile::TempDir, Target) {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::Local(dir.path().to_owned());
    (dir, target)
}

const PASSPHRASE: &str = "violet staple orbit kettle\n";

/// user list|show|unlock, with the account's lockout from failed logins.
fn users_are_listed_shown_and_unlocked(cli: &Target) {
    cli.ok_with(&["user", "add", "zoe"], PASSPHRASE);
    cli.ok_with(&["user", "add", "adam"], PASSPHRASE);
    cli.ok(&["user", "disable", "zoe"]);
    let list = cli.ok(&["user", "list"]);
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        rows[0].starts_with("adam ") && rows[0].contains(" enabled "),
        "{list}"
    );
    assert!(
        rows[1].starts_with("zoe ") && rows[1].contains(" disabled "),
        "{list}"
    );
    // RFC 3339 times, not epoch milliseconds.
    assert!(rows[0].trim_end().ends_with('Z'), "{list}");

    let shown = cli.ok(&["user", "show", "adam"]);
    assert!(shown.contains("state:     enabled"), "{shown}");
    assert!(shown.contains("login:     no recent failures"), "{shown}");
    assert!(cli
        .fails(&["user", "show", "nobody"], "")
        .contains("no user nobody"));

    let unlocked = cli.ok(&["user", "unlock", "adam", "--source", "203.0.113.9"]);
    assert!(
        unlocked.starts_with("unlocked adam: 0 login counter(s) cleared"),
        "{unlocked}"
    );
    let refused = cli.fails(&["user", "unlock", "adam", "--source", "not-an-ip"], "");
    assert!(refused.contains("not an IP address"), "{refused}");
    let audit = cli.ok(&[
        "audit",
        "--user",
        "adam",
        "--event",
        "user_unlocked",
        "--json",
    ]);
    assert_eq!(audit.lines().count(), 1, "{audit}");
}

/// NIST SP 800-63B: common passwords, repetitions and the username are refused; a new
/// password of passwd follows the same rules.
fn passwords_follow_the_policy(cli: &Target) {
    for (password, why) in [
        ("password\n", "most commonly used"),
        ("12345678\n", "repeated or sequential"),
        ("Football\n", "most commonly used"),
        ("short\n", "at least 8 characters"),
        ("qqqqqqqqqqqq\n", "repeated or sequential"),
        ("marianne\n", "must not be the username"),
    ] {
        let refused = cli.fails(&["user", "add", "marianne"], password);
        assert!(refused.contains(why), "{password}: {refused}");
    }
    cli.ok_with(&["user", "add", "marianne"], PASSPHRASE);
    let refused = cli.fails(&["user", "passwd", "marianne"], "iloveyou\n");
    assert!(refused.contains("most commonly used"), "{refused}");
}

/// One redirect-URI check for the CLI and DCR; http on any host only with the flag;
/// client_credentials needs none; list shows state, grants and redirect URIs.
fn clients_take_the_registration_rules_and_list_what_matters(cli: &Target) {
    let add = |id: &str, uri: &str, extra: &[&str]| {
        let mut args = vec![
            "client",
            "add",
            id,
            "--name",
            "App",
            "--scope",
            "profile:read",
        ];
        args.extend(["--redirect-uri", uri]);
        args.extend(extra);
        cli.run(&args, "")
    };
    for bad in [
        "http://x.example/cb",
        "https://user@x.example/cb",
        "https://*.example/cb",
    ] {
        let output = add("bad", bad, &[]);
        assert!(!output.status.success(), "{bad} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("redirect URI"), "{stderr}");
    }
    assert!(add(
        "dev",
        "http://dev.example:8080/cb",
        &["--allow-http-redirect"]
    )
    .status
    .success());
    cli.ok(&[
        "client",
        "add",
        "batch",
        "--name",
        "Batch",
        "--grant",
        "client_credentials",
        "--scope",
        "orders:read",
    ]);
    cli.ok(&["client", "disable", "batch"]);
    let list = cli.ok(&["client", "list"]);
    let row = |id: &str| {
        list.lines()
            .find(|line| line.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no {id} in {list}"))
            .to_owned()
    };
    let dev = row("dev");
    assert!(
        dev.contains("http://dev.example:8080/cb") && dev.contains("authorization_code"),
        "{dev}"
    );
    let batch = row("batch");
    assert!(
        batch.contains("disabled") && batch.contains("client_credentials"),
        "{batch}"
    );

    let secret = cli.ok(&["client", "new-secret", "dev"]);
    assert!(secret.starts_with("client_secret: "), "{secret}");
}

/// audit over every record, from a date or a duration, and login attempts by account name
/// (the login page is not here, so the CLI's own records stand in for the ranges and the
/// login filter is checked to find nothing it should not).
fn audit_reads_every_record_by_date_or_duration(cli: &Target) {
    // The day before the records, and the day after them: a test crossing UTC midnight
    // still finds them from the first and none from the second.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    cli.ok_with(&["user", "add", "eve"], PASSPHRASE);
    cli.ok(&["client", "registration-token"]);
    for since in [today.as_str(), "1h"] {
        let all = cli.ok(&["audit", "--since", since]);
        assert!(all.contains("user_created"), "{since}: {all}");
        assert!(all.contains("registration_token_issued"), "{since}: {all}");
        assert!(
            all.contains("by test-operator (uid ") || all.contains("by arn:aws:"),
            "{all}"
        );
    }
    let tomorrow = time::OffsetDateTime::now_utc()
        .date()
        .next_day()
        .unwrap()
        .to_string();
    assert_eq!(
        cli.ok(&["audit", "--since", &tomorrow]).lines().count(),
        1,
        "the header only"
    );
    let logins = cli.ok(&["audit", "--login-name", "eve"]);
    assert_eq!(logins.lines().count(), 1, "no login happened: {logins}");
    let refused = cli.fails(&["audit", "--since", "2026-13-01"], "");
    assert!(refused.contains("neither a duration"), "{refused}");
}

/// `xecure keys rotate` is an operator action like the others: audited, with who did it
/// (locally: a rotation on DynamoDB needs KMS, which these targets do not set up).
#[test]
fn a_key_rotation_is_audited_with_the_operator() {
    let (_dir, cli) = local();
    let printed = cli.ok(&["keys", "rotate"]);
    assert!(
        printed.contains("created EdDSA key") && printed.contains("created RS256 key"),
        "the first rotation also creates the ID token key: {printed}"
    );
    let found = cli.ok(&["audit", "--event", "key_rotated", "--since", "1h"]);
    let rows: Vec<&str> = found.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{found}");
    assert!(
        rows.iter()
            .all(|row| row.contains("by test-operator (uid ")),
        "{found}"
    );
    // The next rotation replaces the access-token key only.
    cli.ok(&["keys", "rotate"]);
    let found = cli.ok(&["audit", "--event", "key_rotated", "--since", "1h"]);
    assert_eq!(found.lines().skip(1).count(), 3, "{found}");
}

/// OpenID Connect profiles: `user add --name --email`, `user set`, shown and audited; a new
/// address is unverified unless said otherwise; bad values are refused before any change.
fn profiles_are_set_shown_and_audited(cli: &Target) {
    cli.ok_with(
        &[
            "user",
            "add",
            "ida",
            "--name",
            "Ida Pfeiffer",
            "--email",
            "ida@Example.ORG",
        ],
        PASSPHRASE,
    );
    let shown = cli.ok(&["user", "show", "ida"]);
    assert!(shown.contains("name:      Ida Pfeiffer"), "{shown}");
    assert!(
        shown.contains("email:     ida@example.org (unverified)"),
        "the domain is lower-cased, the address unverified: {shown}"
    );
    cli.ok(&["user", "set", "ida", "--email-verified", "true"]);
    assert!(cli
        .ok(&["user", "show", "ida"])
        .contains("ida@example.org (verified)"));
    cli.ok(&["user", "set", "ida", "--email", "ida@travels.example"]);
    assert!(
        cli.ok(&["user", "show", "ida"])
            .contains("ida@travels.example (unverified)"),
        "a new address is unverified again"
    );
    for bad in [
        vec!["user", "set", "ida", "--email", "not an address"],
        vec!["user", "set", "ida", "--name", " "],
        vec!["user", "set", "ida"],
        vec!["user", "set", "nobody", "--name", "X"],
    ] {
        cli.fails(&bad, "");
    }
    assert!(cli
        .ok(&["user", "show", "ida"])
        .contains("ida@travels.example (unverified)"));
    let changes = cli.ok(&["audit", "--event", "user_changed", "--since", "1h"]);
    assert_eq!(changes.lines().skip(1).count(), 2, "{changes}");
}

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod data_directory {
            $(#[test]
            fn $scenario() {
                let (_dir, cli) = super::local();
                super::$scenario(&cli);
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                let cli = super::Target::fresh_table().await;
                tokio::task::spawn_blocking(move || super::$scenario(&cli)).await.unwrap();
            })*
        }
    };
}

on_both_stores!(
    users_are_listed_shown_and_unlocked,
    passwords_follow_the_policy,
    clients_take_the_registration_rules_and_list_what_matters,
    audit_reads_every_record_by_date_or_duration,
    profiles_are_set_shown_and_audited,
);

#[tokio::test(flavor = "multi_thread")]
async fn on_dynamodb_the_operator_is_the_aws_caller() {
    let cli = Target::fresh_table().await;
    let audit = tokio::task::spawn_blocking(move || {
        cli.ok_with(&["user", "add", "ola"], PASSPHRASE);
        cli.ok(&["audit", "--user", "ola", "--json"])
    })
    .await
    .unwrap();
    // moto answers GetCallerIdentity for the test credentials with its fixed account.
    assert!(audit.contains("\"operator\":\"arn:aws:"), "{audit}");
}
