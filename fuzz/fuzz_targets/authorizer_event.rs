//! Any bytes as an authorizer event: the authorizer must answer (allow, deny or
//! Unauthorized) and never panic.
#![no_main]

#[path = "../../functions/authorizer/tests/support/mod.rs"]
mod support;

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static WORLD: LazyLock<(tokio::runtime::Runtime, support::Harness)> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let harness = runtime.block_on(support::harness());
    (runtime, harness)
});

fuzz_target!(|data: &[u8]| {
    let (runtime, harness) = &*WORLD;
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = runtime.block_on(harness.run(event));
    }
});
