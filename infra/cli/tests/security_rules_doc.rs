//! docs/security-rules.md lists every numbered rule the code cites with the tests named after
//! it. This keeps the page true: every `rule_N_...` test in the repository is listed under
//! rule N, every listed test exists where its link points, and every rule has at least one
//! test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const RULES: u32 = 22;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir()
            && !matches!(
                name.as_str(),
                "target" | ".git" | ".tools" | "node_modules" | "fuzz"
            )
        {
            rust_files(&path, found);
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

/// (rule, test name) for every test named `rule_N_...` or `rule_N_and_M_...`.
fn rule_tests() -> BTreeSet<(u32, String)> {
    let mut files = Vec::new();
    for dir in ["shared", "functions", "infra", "tests"] {
        rust_files(&repository().join(dir), &mut files);
    }
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("rule_") {
            let before = &text[..at];
            let declared =
                before.ends_with("fn ") || before.trim_end().ends_with("on_both_stores!(");
            if !declared {
                continue;
            }
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let mut rest = &name["rule_".len()..];
            loop {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let Ok(rule) = digits.parse::<u32>() else {
                    break;
                };
                found.insert((rule, name.clone()));
                rest = &rest[digits.len()..];
                match rest.strip_prefix("_and_") {
                    Some(more) => rest = more,
                    None => break,
                }
            }
        }
    }
    found
}

/// (rule, test name) as the page lists them: "- `name`" lines under "## Rule N".
fn listed() -> BTreeSet<(u32, String)> {
    let page = std::fs::read_to_string(repository().join("docs/security-rules.md")).unwrap();
    let mut rule = 0;
    let mut found = BTreeSet::new();
    for line in page.lines() {
        if let Some(n) = line.strip_prefix("## Rule ") {
            rule = n.trim().parse().unwrap();
        } else if let Some(item) = line.strip_prefix("- `") {
            found.insert((rule, item.split('`').next().unwrap().to_owned()));
        }
    }
    found
}

#[test]
fn the_security_rules_page_lists_exactly_the_rule_tests() {
    let (tests, page) = (rule_tests(), listed());
    let missing: Vec<_> = tests.difference(&page).collect();
    let stale: Vec<_> = page.difference(&tests).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/security-rules.md: add {missing:?}; remove {stale:?}"
    );
    for rule in 1..=RULES {
        assert!(
            tests.iter().any(|(r, _)| *r == rule),
            "rule {rule} has no test named after it"
        );
    }
}

/// Each listed test links to the file that defines it.
#[test]
fn each_listed_test_links_to_the_file_that_defines_it() {
    let page = std::fs::read_to_string(repository().join("docs/security-rules.md")).unwrap();
    let mut wrong = Vec::new();
    for line in page.lines().filter(|line| line.starts_with("- `")) {
        let name = line["- `".len()..].split('`').next().unwrap();
        let Some(link) = line
            .split("](../")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
        else {
            wrong.push(format!("{name}: no link"));
            continue;
        };
        let defined = std::fs::read_to_string(repository().join(link))
            .map(|text| text.contains(&format!("fn {name}")) || text.contains(&format!("{name},")))
            .unwrap_or(false);
        if !defined {
            wrong.push(format!("{name}: not defined in {link}"));
        }
    }
    assert!(wrong.is_empty(), "docs/security-rules.md: {wrong:#?}");
}
