//! The policy documents already built, per scope string, API stage and route (issue #21
//! goal 1): a document depends on nothing else, and building one walks the whole route
//! table (patterns, IAM wildcard overlaps, ARNs) for every call of a token the claims cache
//! already knows. Calls to a path outside the table are not kept (their exact Deny names
//! the caller's path, which anyone can vary). At most `MAX_POLICIES` documents; when full,
//! one makes room (not all: one client cycling through scope subsets must not empty the
//! memo for everyone).

use foldhash::fast::RandomState;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

/// Distinct (scope, stage, route) documents kept: scope sets are combinations of a few
/// scopes, stages and routes are the API's own.
pub const MAX_POLICIES: usize = 512;

/// A built document and whether its route allows the scope.
#[derive(Debug, Clone)]
pub struct BuiltPolicy {
    pub document: Arc<RawValue>,
    pub allows_route: bool,
}

/// What a document was built for, beside it: a hit compares it, so two keys with one hash
/// never share a document.
type Entry = ([String; 3], BuiltPolicy);

/// Keyed by the hash of the three strings, so a hit allocates nothing.
#[derive(Default)]
pub struct PolicyMemo {
    built: Mutex<HashMap<u64, Entry>>,
    /// Hashes the three strings on every call (foldhash: a fraction of SipHash's cost).
    hasher: RandomState,
}

impl PolicyMemo {
    /// The document for `scope` on the stage `prefix` and `route` (the table's route name),
    /// built with `build` on a miss; `None` when `build` refuses (a malformed scope).
    pub fn get_or_build(
        &self,
        scope: &str,
        prefix: &str,
        route: Option<&str>,
        build: impl FnOnce() -> Option<BuiltPolicy>,
    ) -> Option<BuiltPolicy> {
        let Some(route) = route else {
            return build();
        };
        let parts = [scope, prefix, route];
        let hash = self.hasher.hash_one(parts);
        if let Some((key, hit)) = self.lock().get(&hash) {
            if key.iter().zip(parts).all(|(kept, part)| kept == part) {
                return Some(hit.clone());
            }
        }
        let built = build()?;
        let mut memo = self.lock();
        if memo.len() >= MAX_POLICIES && !memo.contains_key(&hash) {
            if let Some(&evicted) = memo.keys().next() {
                memo.remove(&evicted);
            }
        }
        memo.insert(hash, (parts.map(str::to_owned), built.clone()));
        Some(built)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(n: u64) -> Option<BuiltPolicy> {
        Some(BuiltPolicy {
            document: Arc::from(
                serde_json::value::to_raw_value(&serde_json::json!({ "n": n })).ok()?,
            ),
            allows_route: true,
        })
    }

    #[test]
    fn a_document_is_built_once_per_scope_stage_and_route_and_the_memo_is_bounded() {
        let memo = PolicyMemo::default();
        let first = memo.get_or_build("a", "arn:stage", Some("GET /x"), || built(1));
        let again = memo.get_or_build("a", "arn:stage", Some("GET /x"), || built(2));
        assert_eq!(first.unwrap().document.get(), again.unwrap().document.get());
        let other = memo.get_or_build("a b", "arn:stage", Some("GET /x"), || built(3));
        assert_eq!(other.unwrap().document.get(), r#"{"n":3}"#);
        // Unknown routes are never kept.
        memo.get_or_build("a", "arn:stage", None, || built(4));
        assert_eq!(memo.len(), 2);
        for n in 0..(MAX_POLICIES as u64 * 2) {
            memo.get_or_build(&format!("s{n}"), "arn:stage", Some("GET /x"), || built(n));
        }
        assert!(memo.len() <= MAX_POLICIES);
        assert!(memo
            .get_or_build("bad", "arn:stage", Some("GET /x"), || None)
            .is_none());
    }
}
