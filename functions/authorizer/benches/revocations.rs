//! Issue #15: what revocations outstanding cost the authorizer. The view is a
//! `RevocationIndex`: a check is a few hash lookups, a poll applies only the new entries.
//!
//!     cargo bench -p authorizer --bench revocations
//!
//! Prints, besides criterion's timings, the index's resident memory per entry.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;
use xecure::domain::{
    ClientId, EventId, FamilyId, GrantId, Revocation, RevocationTarget, Scope, Timestamp, UserId,
};
use xecure::jwt::AccessTokenClaims;
use xecure::oauth::revocation_check::RevocationIndex;

const OUTSTANDING: usize = 100_000;
const T0: Timestamp = Timestamp::from_secs(1_900_000_000);

/// A realistic mix: mostly single tokens revoked by clients, then families, grants, users,
/// narrowings and clients.
fn entries(count: usize, offset: usize) -> Vec<Revocation> {
    (offset..offset + count)
        .map(|n| {
            let target = match n % 20 {
                0..=11 => RevocationTarget::AccessToken(format!("jti-{n:016x}")),
                12..=15 => {
                    RevocationTarget::Family(FamilyId::parse(&format!("fam_{n:032x}")).unwrap())
                }
                16 | 17 => {
                    RevocationTarget::Grant(GrantId::parse(&format!("grt_{n:032x}")).unwrap())
                }
                18 => RevocationTarget::User(UserId::parse(&format!("usr_{n:032x}")).unwrap()),
                _ => RevocationTarget::GrantNarrowed {
                    grant: GrantId::parse(&format!("grt_{n:032x}")).unwrap(),
                    dropped: Scope::parse("orders:write").unwrap(),
                },
            };
            Revocation {
                id: EventId::parse(&format!("evt_{n:032x}")).unwrap(),
                at: T0,
                target,
                expires_at: T0.plus(std::time::Duration::from_secs(630)),
            }
        })
        .collect()
}

fn claims(n: usize) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "https://auth.example".into(),
        sub: format!("usr_{n:032x}x"),
        aud: "https://auth.example/api".into(),
        exp: T0.as_secs() + 600,
        iat: T0.as_secs() + 1,
        jti: format!("live-jti-{n}"),
        client_id: ClientId::parse("app").unwrap().to_string(),
        scope: "orders:read orders:write".into(),
        gid: Some(format!("grt_{n:032x}y")),
        fid: Some(format!("fam_{n:032x}y")),
        crv: Some(0),
        nbf: None,
        cnf: None,
    }
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn benches(c: &mut Criterion) {
    let outstanding = entries(OUTSTANDING, 0);
    let before = resident_bytes();
    let index = RevocationIndex::of(&outstanding);
    let after = resident_bytes();
    println!(
        "index of {OUTSTANDING} entries: about {} bytes resident per entry",
        (after.saturating_sub(before)) / OUTSTANDING
    );
    let mut group = c.benchmark_group("revocations");
    // Distinct live tokens, built before timing: the check alone is measured.
    let live: Vec<AccessTokenClaims> = (0..4096).map(claims).collect();
    let mut n = 0usize;
    group.bench_function("check_a_live_token_against_100k_entries", |b| {
        b.iter(|| {
            n = (n + 1) % live.len();
            black_box(index.stops(&live[n]));
        })
    });
    let revoked = claims(0);
    let revoked = AccessTokenClaims {
        jti: "jti-0000000000000000".into(),
        ..revoked
    };
    group.bench_function("check_a_revoked_token_against_100k_entries", |b| {
        b.iter(|| black_box(index.stops(&revoked)))
    });
    group.sample_size(10);
    group.bench_function("first_poll_applies_100k_entries", |b| {
        b.iter(|| black_box(RevocationIndex::of(&outstanding)))
    });
    let next = entries(1_000, OUTSTANDING);
    group.bench_function("a_later_poll_applies_1k_new_entries_to_100k", |b| {
        b.iter_batched(
            || index.clone(),
            |mut index| {
                index.apply(&next);
                index.prune(T0);
                black_box(index)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(revocations, benches);
criterion_main!(revocations);
