//! Any string as the Authorization header of a REST TOKEN event: never a panic, and never an
//! allow (the fuzzer cannot forge a signature).
#![no_main]

#[path = "../common/world.rs"]
mod world;

use libfuzzer_sys::fuzz_target;
use world::WORLD;

fuzz_target!(|data: &[u8]| {
    let (runtime, harness) = &*WORLD;
    let header = String::from_utf8_lossy(data);
    let event = harness.token_event(&header, "GET", "/orders");
    let (_, log) = runtime.block_on(harness.run(event));
    assert_ne!(log["Decision"], "allow", "a forged token was allowed: {header}");
});
