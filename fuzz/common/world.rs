//! What both fuzz targets run against: one authorizer over a temporary embedded store with a
//! published key, built on first use, and the runtime that drives it.

#[path = "../../functions/authorizer/tests/support/mod.rs"]
pub mod support;

use std::sync::LazyLock;

pub static WORLD: LazyLock<(tokio::runtime::Runtime, support::Harness)> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let harness = runtime.block_on(support::harness());
    (runtime, harness)
});
