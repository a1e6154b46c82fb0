//! A bounded map whose entries expire, with O(1) amortised upkeep (issue #21, goal 4): a hash
//! map for lookups beside a queue in insertion order. Every insert first drops, from the
//! queue's front, entries that have expired or that the capacity pushes out, so the work per
//! insert is constant on average however many entries are live, and memory never exceeds the
//! capacity. (What it replaces scanned the whole map on every insert once it was full: a
//! throughput collapse with many distinct tokens.)
//!
//! Eviction is oldest-inserted first, not least-recently-used: both caches using it hold
//! entries that expire on their own (a token's `exp`, a policy's TTL), and a hit never makes
//! an entry live longer than its expiry. An entry is checked against its own expiry on every
//! read, so an entry behind a longer-lived one in the queue is never served late.

use foldhash::fast::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

struct Entry<V> {
    value: V,
    expires_at: i64,
    /// Which insert of the key this is: a queue slot of an earlier insert of the same key
    /// is stale and evicts nothing.
    generation: u64,
}

pub struct ExpiringMap<K: ?Sized, V> {
    /// Keys are whole tokens on the authorizer's every call: foldhash (seeded per map)
    /// hashes them several times faster than the standard SipHash.
    entries: HashMap<Arc<K>, Entry<V>, RandomState>,
    order: VecDeque<(Arc<K>, u64, i64)>,
    capacity: usize,
    generation: u64,
}

impl<K: Hash + Eq + ?Sized, V: Clone> ExpiringMap<K, V> {
    /// At most `capacity` entries (0 keeps nothing).
    pub fn new(capacity: usize) -> Self {
        ExpiringMap {
            entries: HashMap::with_capacity_and_hasher(capacity.min(1024), RandomState::default()),
            order: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            generation: 0,
        }
    }

    /// The value under `key` if it has not expired at `now` (any clock unit: the caller's).
    pub fn get(&self, key: &K, now: i64) -> Option<V> {
        self.entries
            .get(key)
            .filter(|entry| entry.expires_at > now)
            .map(|entry| entry.value.clone())
    }

    /// Stores `value` under `key` until `expires_at`, first dropping what has expired at
    /// `now` from the queue's front and what the capacity pushes out.
    pub fn insert(&mut self, key: Arc<K>, value: V, expires_at: i64, now: i64) {
        if self.capacity == 0 {
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        self.entries.insert(
            Arc::clone(&key),
            Entry {
                value,
                expires_at,
                generation,
            },
        );
        self.order.push_back((key, generation, expires_at));
        self.evict(now);
    }

    fn evict(&mut self, now: i64) {
        while let Some((key, generation, expires_at)) = self.order.front() {
            let live = self
                .entries
                .get(&**key)
                .is_some_and(|entry| entry.generation == *generation);
            // The oldest live entry is unexpired and there is room: done. Entries behind it
            // may have expired; they go when they reach the front, and a read checks each
            // entry's own expiry meanwhile.
            if live && *expires_at > now && self.entries.len() <= self.capacity {
                break;
            }
            let (key, _, _) = self.order.pop_front().expect("the front exists");
            if live {
                self.entries.remove(&*key);
            }
        }
        // Stale slots (keys inserted again) keep the queue longer than the map; it is bounded
        // by twice the capacity by compacting when it grows past that.
        if self.order.len() > self.capacity.saturating_mul(2) {
            let entries = &self.entries;
            self.order.retain(|(key, generation, _)| {
                entries
                    .get(&**key)
                    .is_some_and(|entry| entry.generation == *generation)
            });
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    #[test]
    fn entries_expire_on_their_own_time() {
        let mut map: ExpiringMap<str, u32> = ExpiringMap::new(10);
        map.insert(key("long"), 1, 100, 0);
        map.insert(key("short"), 2, 10, 0);
        assert_eq!(map.get("short", 9), Some(2));
        assert_eq!(
            map.get("short", 10),
            None,
            "expired, though behind a longer one"
        );
        assert_eq!(map.get("long", 99), Some(1));
        // The next insert past `long`'s expiry clears both.
        map.insert(key("new"), 3, 300, 150);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn the_capacity_pushes_out_the_oldest() {
        let mut map: ExpiringMap<str, u32> = ExpiringMap::new(2);
        map.insert(key("a"), 1, 100, 0);
        map.insert(key("b"), 2, 100, 0);
        map.insert(key("c"), 3, 100, 0);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("a", 1), None);
        assert_eq!(map.get("c", 1), Some(3));
        assert!(ExpiringMap::<str, u32>::new(0).is_empty());
    }

    #[test]
    fn inserting_a_key_again_keeps_its_newest_value_and_bounds_the_queue() {
        let mut map: ExpiringMap<str, u32> = ExpiringMap::new(3);
        for round in 0..1000 {
            map.insert(key("same"), round, 1_000_000, 0);
        }
        assert_eq!(map.get("same", 0), Some(999));
        assert_eq!(map.len(), 1);
        assert!(map.order.len() <= 6, "queue compacted: {}", map.order.len());
        // The stale slots of `same` do not evict its live entry.
        map.insert(key("x"), 1, 1_000_000, 0);
        map.insert(key("y"), 2, 1_000_000, 0);
        assert_eq!(map.get("same", 0), Some(999));
    }

    #[test]
    fn many_distinct_keys_stay_within_the_capacity() {
        let mut map: ExpiringMap<str, u64> = ExpiringMap::new(1000);
        for i in 0..100_000_u64 {
            let now = i64::try_from(i).unwrap();
            map.insert(Arc::from(format!("token-{i}").as_str()), i, now + 300, now);
            assert!(map.len() <= 1000);
        }
        assert!(map.order.len() <= 2000);
    }
}
