//! The fuzz targets' property on stable, in every CI run: seeds (every fixture and attack
//! shape) and thousands of deterministic mutations of them never make the authorizer panic,
//! and no mutated Authorization header is ever allowed. `fuzz/` runs the same property
//! coverage-guided under cargo-fuzz.

mod support;

use serde_json::Value;
use support::*;

/// A small deterministic generator (xorshift), so a failure replays exactly.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut bytes = seed.to_vec();
        for _ in 0..=self.below(4) {
            match self.below(5) {
                0 if !bytes.is_empty() => {
                    let at = self.below(bytes.len());
                    bytes[at] ^= 1 << self.below(8);
                }
                1 if !bytes.is_empty() => {
                    let at = self.below(bytes.len());
                    bytes.truncate(at);
                }
                2 => {
                    let at = self.below(bytes.len() + 1);
                    const BYTES: &[u8] = b"{}[]\",:.=/ \\\x00\xff0aZ";
                    let byte = BYTES[self.below(BYTES.len())];
                    bytes.insert(at, byte);
                }
                3 if bytes.len() > 2 => {
                    let from = self.below(bytes.len());
                    let to = from + self.below(bytes.len() - from);
                    let piece = bytes[from..to].to_vec();
                    let at = self.below(bytes.len());
                    bytes.splice(at..at, piece);
                }
                _ => {
                    let at = self.below(bytes.len() + 1);
                    bytes.splice(at..at, "\u{202e}é𝄞".bytes());
                }
            }
        }
        bytes
    }
}

#[tokio::test]
async fn mutated_events_never_panic() {
    let h = harness().await;
    let token = h.token("orders:read");
    let seeds: Vec<String> = [
        include_str!("fixtures/rest_token_event.json"),
        include_str!("fixtures/rest_request_event.json"),
        include_str!("fixtures/rest_request_event_two_authorization_headers.json"),
        include_str!("fixtures/http_v2_event.json"),
    ]
    .iter()
    .map(|fixture| fixture.replace("TOKEN_PLACEHOLDER", &token))
    .collect();
    let mut mutator = Mutator(0x5eed_1234_abcd_0001);
    let mut parsed = 0;
    for round in 0..4000 {
        let seed = &seeds[round % seeds.len()];
        let bytes = mutator.mutate(seed.as_bytes());
        if let Ok(event) = serde_json::from_slice::<Value>(&bytes) {
            parsed += 1;
            let (_, log) = h.run(event).await;
            assert!(log["Decision"].is_string());
        }
    }
    assert!(
        parsed > 500,
        "enough mutations stay JSON to reach the decision: {parsed}"
    );
}

#[tokio::test]
async fn mutated_authorization_headers_are_never_allowed() {
    let h = harness().await;
    let good = format!("Bearer {}", h.token("orders:read"));
    let mut mutator = Mutator(0x0bad_cafe_f00d_0002);
    for _ in 0..3000 {
        let bytes = mutator.mutate(good.as_bytes());
        let header = String::from_utf8_lossy(&bytes).into_owned();
        if header == good {
            continue;
        }
        let (_, log) = h.run(h.token_event(&header, "GET", "/orders")).await;
        // A mutation that only touches the scheme's case or trailing padding keeps the same
        // token; anything else must be refused.
        let same_token = header
            .rsplit_once(' ')
            .is_some_and(|(_, t)| good.ends_with(t) && t.len() + 7 >= good.len());
        if !same_token {
            assert_ne!(log["Decision"], "allow", "{header}");
        }
    }
}
