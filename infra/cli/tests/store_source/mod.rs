//! Which keys each port of the DynamoDB store builds, read from its source: the `keys::`
//! builders and partition constants an `impl <Port> for DynamoStore` block names itself and
//! those of every store helper it calls (free functions such as the item builders of
//! dynamo/items.rs, inherent `impl DynamoStore` methods), followed transitively. Reads and
//! writes are not told apart. A text scan, so it over-reaches rather than misses: a helper is
//! taken as called wherever its name stands as a call, a turbofish or a value.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The source files of shared/src/store/dynamo.
pub fn dynamo_sources() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/src/store/dynamo");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect()
}

/// The `keys::` functions called and `keys::` constants named in `code`.
pub fn key_names(code: &str) -> BTreeSet<String> {
    code.split("keys::")
        .skip(1)
        .filter_map(|rest| {
            let name = identifier(rest);
            let after = &rest[name.len()..];
            let constant = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            let function =
                name.starts_with(|c: char| c.is_ascii_lowercase()) && after.starts_with('(');
            (constant || function).then(|| name.to_owned())
        })
        .collect()
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The name a line declares a function with (`pub(super) async fn name`, `const fn`, ...).
fn declared_function(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    if let Some(after) = rest.strip_prefix("pub") {
        rest = after.trim_start();
        if rest.starts_with('(') {
            rest = rest[rest.find(')')? + 1..].trim_start();
        }
    }
    for qualifier in ["const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(qualifier).unwrap_or(rest).trim_start();
    }
    let name = identifier(rest.strip_prefix("fn ")?);
    (!name.is_empty()).then_some(name)
}

/// From `start` (a line that opens a block), the text up to where its braces close.
fn block_from(code: &str, start: usize) -> &str {
    let mut depth = 0usize;
    let mut opened = false;
    for (at, c) in code[start..].char_indices() {
        match c {
            '{' => {
                depth += 1;
                opened = true;
            }
            '}' => depth = depth.saturating_sub(1),
            ';' if !opened => return &code[start..start + at],
            _ => {}
        }
        if opened && depth == 0 {
            return &code[start..=start + at];
        }
    }
    &code[start..]
}

fn line_starts(code: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    code.split_inclusive('\n').map(move |line| {
        let start = offset;
        offset += line.len();
        (start, line)
    })
}

/// Every function declared in `code` outside the port impl blocks' own methods too: name ->
/// body (the bodies of functions of one name in several places merged).
fn functions(code: &str, found: &mut BTreeMap<String, String>) {
    for (start, line) in line_starts(code) {
        if let Some(name) = declared_function(line) {
            let body = found.entry(name.to_owned()).or_default();
            body.push_str(block_from(code, start));
            body.push('\n');
        }
    }
}

/// Does `code` use the function `name`: a call, a turbofish, or the function as a value?
fn uses(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = &code[at + name.len()..];
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && ["(", "::<", ")", ","]
                .iter()
                .any(|next| after.starts_with(next))
            && !code[..at].ends_with("fn ")
    })
}

/// (port, key names reached) for each `impl <Port> for DynamoStore` block in `sources`.
pub fn keys_used_by_each_port(sources: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut helpers = BTreeMap::new();
    for code in sources {
        functions(code, &mut helpers);
    }
    let mut reach: BTreeMap<&str, BTreeSet<String>> = helpers
        .iter()
        .map(|(name, body)| (name.as_str(), key_names(body)))
        .collect();
    loop {
        let mut grew = false;
        for (name, body) in &helpers {
            let mut reached = reach[name.as_str()].clone();
            for other in helpers
                .keys()
                .filter(|other| *other != name && uses(body, other))
            {
                reached.extend(reach[other.as_str()].iter().cloned());
            }
            if reached.len() > reach[name.as_str()].len() {
                reach.insert(name.as_str(), reached);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for code in sources {
        for (start, line) in line_starts(code) {
            let Some(port) = line
                .strip_prefix("impl ")
                .and_then(|rest| rest.split_once(" for DynamoStore"))
                .map(|(port, _)| port.trim())
            else {
                continue;
            };
            let block = block_from(code, start);
            let mut keys = key_names(block);
            for (helper, reached) in &reach {
                if uses(block, helper) {
                    keys.extend(reached.iter().cloned());
                }
            }
            used.entry(port.to_owned()).or_default().extend(keys);
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Helpers in every form the store's code could take them.
    const SOURCE: &str = r#"
pub(super) fn one_line(d: &D) -> ItemKey { keys::session(d) }
pub fn builder(d: &D) -> Item {
    record(&keys::code(d))
}
const fn generic<T>() -> T {
    keys::refresh_token2(&d)
}
fn unused() -> ItemKey {
    keys::signing_key(&k)
}
impl DynamoStore {
    pub(crate) async fn inherent(&self) {
        let _ = keys::SIGNING_KEYS;
    }
}
impl CodeStore for DynamoStore {
    async fn a(&self) {
        builder(&d);
        generic::<u8>();
        self.inherent().await;
        items.iter().map(one_line);
    }
}
"#;

    #[test]
    fn every_form_of_helper_is_traced_and_nothing_else() {
        let used = keys_used_by_each_port(&[SOURCE.to_owned()]);
        let expected: BTreeSet<String> = ["session", "code", "refresh_token2", "SIGNING_KEYS"]
            .map(str::to_owned)
            .into();
        assert_eq!(used["CodeStore"], expected);
    }
}
