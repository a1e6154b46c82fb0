//! Issue #21, goal 4: the gateway's caches with many distinct tokens. Each step inserts a
//! new token's entry (a miss) and reads a recent one (a hit), with the clock moving 0.2 ms a
//! step: 5,000 distinct tokens a second, every entry living the 300 s policy TTL, so the
//! cache is always full. `ExpiringMap` (what both caches use now) against what the local
//! gateway's policy cache did before: a map scanned whole (`retain`) on every insert once it
//! held more than 10,000 entries.
//!
//!     cargo bench -p authorizer --bench caches

use criterion::{criterion_group, criterion_main, Criterion};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use xecure::expiring_map::ExpiringMap;

const TTL_MS: i64 = 300_000;
const STEP_US: i64 = 200;
const CAPACITY: usize = 50_000;

fn token(n: u64) -> String {
    format!("eyJhbGciOiJFZERTQSJ9.token-{n:020}.signature")
}

fn bounded_expiring_map(c: &mut Criterion) {
    let mut map: ExpiringMap<str, u64> = ExpiringMap::new(CAPACITY);
    let mut n: u64 = 0;
    // Fill to the steady state first.
    while map.len() < CAPACITY {
        let now = i64::try_from(n).unwrap_or(0) * STEP_US / 1000;
        map.insert(Arc::from(token(n).as_str()), n, now + TTL_MS, now);
        n += 1;
    }
    c.bench_function("cache step, ExpiringMap full at 50,000", |b| {
        b.iter(|| {
            let now = i64::try_from(n).unwrap_or(0) * STEP_US / 1000;
            map.insert(Arc::from(token(n).as_str()), n, now + TTL_MS, now);
            black_box(map.get(&token(n - 100), now));
            n += 1;
        })
    });
}

fn scan_on_insert(c: &mut Criterion) {
    let mut map: HashMap<String, (u64, i64)> = HashMap::new();
    let mut n: u64 = 0;
    while map.len() < 10_001 {
        let now = i64::try_from(n).unwrap_or(0) * STEP_US / 1000;
        map.insert(token(n), (n, now + TTL_MS));
        n += 1;
    }
    // Each step costs a scan of everything cached, and the map keeps growing: few samples.
    let mut group = c.benchmark_group("before");
    group.sample_size(10);
    group.bench_function("cache step, scan past 10,000", |b| {
        b.iter(|| {
            let now = i64::try_from(n).unwrap_or(0) * STEP_US / 1000;
            if map.len() > 10_000 {
                map.retain(|_, (_, until)| *until > now);
            }
            map.insert(token(n), (n, now + TTL_MS));
            black_box(map.get(&token(n - 100)));
            n += 1;
        })
    });
    group.finish();
}

criterion_group!(benches, bounded_expiring_map, scan_on_insert);
criterion_main!(benches);
