//! Any bytes as an authorizer event: the authorizer must answer (allow, deny or
//! Unauthorized) and never panic.
#![no_main]

#[path = "../common/world.rs"]
mod world;

use libfuzzer_sys::fuzz_target;
use world::WORLD;

fuzz_target!(|data: &[u8]| {
    let (runtime, harness) = &*WORLD;
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = runtime.block_on(harness.run(event));
    }
});
