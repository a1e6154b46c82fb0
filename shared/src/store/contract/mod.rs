//! ONE contract suite for every store (design rule 3): each function states a property of the
//! store ports, and `contract_suite!` runs them all against a given store. The embedded store
//! runs it in `embedded::tests`, the DynamoDB store against a real DynamoDB API (moto) in
//! `dynamo::tests`. One file per port the properties exercise; `controls` holds the
//! properties that cut across ports (security rules 16 and 17); `fixtures` what they all build
//! on.
//!
//! Each file registers its own properties in the `properties!` macro at its end, so a new
//! property needs no edit elsewhere. One left out of its macro (or a file left out of
//! `contract_suite!`) runs on no store, and the compiler only warns that it is never used:
//! `every_contract_property_is_registered` makes that a failing test naming the file.

pub(crate) mod audit;
pub(crate) mod clients;
pub(crate) mod codes;
pub(crate) mod controls;
pub(crate) mod fixtures;
pub(crate) mod grants;
pub(crate) mod initial_access;
pub(crate) mod keys;
pub(crate) mod pending;
pub(crate) mod proofs;
pub(crate) mod pushed;
pub(crate) mod refresh;
pub(crate) mod revocations;
pub(crate) mod sessions;
pub(crate) mod throttle;
pub(crate) mod users;

// The fixtures keep their paths (`crate::store::contract::{at, code, ..}`) for the store tests
// that reuse them.
pub(crate) use fixtures::*;

/// Fixtures other store tests reuse.
pub(crate) use fixtures as tests_support;

/// Runs every contract file's properties, each on a fresh store from `$make`: one module per
/// file, so the tests are named `<file>::<property>`.
macro_rules! contract_suite {
    ($make:expr) => {
        $crate::store::contract::contract_suite!(@files $make;
            audit, clients, codes, controls, grants, initial_access, keys, pending, proofs, pushed,
            refresh,
            revocations, sessions, throttle, users,
        );
    };
    (@files $make:expr; $($file:ident),* $(,)?) => {
        $(
            mod $file {
                // `$make` names helpers of the module that invokes the suite.
                use super::*;
                $crate::store::contract::$file::properties!($make);
            }
        )*
    };
}
pub(crate) use contract_suite;

/// One `#[tokio::test]` per property of `$file` named, each on a fresh store from `$make`: what
/// every file's `properties!` expands to.
macro_rules! register {
    ($make:expr, $file:ident; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = $make.await;
                $crate::store::contract::$file::$name(std::sync::Arc::new(store)).await;
            }
        )*
    };
}
pub(crate) use register;

/// Every property of a contract file (a top-level `pub async fn <name><S: Store>(..)`) is
/// registered in that file's `properties!`, and every file is in `contract_suite!`. The files
/// are read from disk rather than named here, so a new file is checked too.
#[test]
fn every_contract_property_is_registered() {
    use std::collections::BTreeSet;

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/contract");
    let mut problems = Vec::new();
    let mut files = BTreeSet::new();
    let mut suite = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let file = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let properties = properties_of(&source);
        if file == "mod" {
            // The macro is defined above this test, so it is the first match in this file.
            suite = listed_after(&source, "contract_suite!(@files $make;")
                .expect("`contract_suite!` lists the files after `@files $make;`");
        }
        if file == "mod" || file == "fixtures" {
            problems.extend(properties.iter().map(|name| {
                format!("contract/{file}.rs: `{name}` is a property; it belongs in a port's file")
            }));
            continue;
        }
        let call = format!("$crate::store::contract::register!($make, {file};");
        let Some(registered) = listed_after(&source, &call) else {
            problems.push(format!(
                "contract/{file}.rs: no `properties!` macro calling `{call} ..)`"
            ));
            continue;
        };
        problems.extend(properties.difference(&registered).map(|name| {
            format!(
                "contract/{file}.rs: property `{name}` is not registered: add it to the \
                 `properties!` macro at the end of the file, or it runs on no store"
            )
        }));
        problems.extend(registered.difference(&properties).map(|name| {
            format!("contract/{file}.rs: `{name}` is registered but is no `pub async fn` there")
        }));
        files.insert(file);
    }
    problems.extend(files.difference(&suite).map(|file| {
        format!("contract/{file}.rs is not in `contract_suite!`: none of its properties run")
    }));
    problems.extend(suite.difference(&files).map(|file| {
        format!("`contract_suite!` names contract/{file}.rs, which is no contract file")
    }));
    assert!(
        problems.is_empty(),
        "the contract suite leaves properties out:\n  {}",
        problems.join("\n  ")
    );
}

/// The names of the top-level `pub async fn`s of a source.
fn properties_of(source: &str) -> std::collections::BTreeSet<String> {
    source
        .lines()
        .filter_map(|line| line.strip_prefix("pub async fn "))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// The comma-separated names between the first `start` of a source and the `)` after it,
/// whatever the layout and comments.
fn listed_after(source: &str, start: &str) -> Option<std::collections::BTreeSet<String>> {
    let squeeze = |text: &str| -> String { text.chars().filter(|c| !c.is_whitespace()).collect() };
    let code: String = source
        .lines()
        .map(|line| squeeze(line.split("//").next().unwrap()))
        .collect();
    let list = &code[code.find(&squeeze(start))? + squeeze(start).len()..];
    let list = &list[..list.find(')')?];
    Some(
        list.split(',')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}
