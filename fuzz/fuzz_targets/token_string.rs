//! Any string as the Authorization header of a REST TOKEN event: never a panic, and never an
//! allow (the fuzzer cannot forge a signature).
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
    let header = String::from_utf8_lossy(data);
    let event = harness.token_event(&header, "GET", "/orders");
    let (_, log) = runtime.block_on(harness.run(event));
    assert_ne!(log["decision"], "allow", "a forged token was allowed: {header}");
});
