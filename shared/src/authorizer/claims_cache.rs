//! Verified claims per exact token string, so a token used again within a container skips
//! signature verification. Bounded; an entry is served only until the token expires, and the
//! revocation check still runs on every call.

use crate::expiring_map::ExpiringMap;
use crate::jwt::AccessTokenClaims;
use std::sync::{Arc, Mutex};

pub struct VerifiedClaimsCache {
    entries: Mutex<ExpiringMap<str, Arc<AccessTokenClaims>>>,
}

impl VerifiedClaimsCache {
    pub fn new(capacity: usize) -> Self {
        VerifiedClaimsCache {
            entries: Mutex::new(ExpiringMap::new(capacity)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ExpiringMap<str, Arc<AccessTokenClaims>>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The claims if `token` was verified before and is still unexpired at `now_secs`.
    pub fn get(&self, token: &str, now_secs: i64) -> Option<Arc<AccessTokenClaims>> {
        self.lock().get(token, now_secs)
    }

    /// Kept until the token expires; when full, the oldest entry makes room (O(1)
    /// amortised, `ExpiringMap`).
    pub fn insert(&self, token: &str, claims: Arc<AccessTokenClaims>, now_secs: i64) {
        let expires_at = claims.exp;
        self.lock()
            .insert(Arc::from(token), claims, expires_at, now_secs);
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

    fn claims(exp: i64) -> Arc<AccessTokenClaims> {
        Arc::new(AccessTokenClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp,
            iat: 0,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "x".into(),
            gid: None,
            fid: None,
            crv: None,
            nbf: None,
            cnf: None,
        })
    }

    #[test]
    fn entries_expire_and_the_cache_stays_bounded() {
        let cache = VerifiedClaimsCache::new(2);
        cache.insert("t1", claims(100), 0);
        assert!(cache.get("t1", 99).is_some());
        assert!(cache.get("t1", 100).is_none(), "expired");
        cache.insert("a", claims(100), 0);
        cache.insert("b", claims(100), 0);
        cache.insert("c", claims(100), 0);
        assert!(cache.len() <= 2);
        assert!(cache.get("c", 1).is_some());
    }
}
