//! The local gateway tests' world: the `World` fixture's embedded store with a signing key
//! that signs from `now`, and the same store and sealer as the local system's data.

use xecure::domain::Timestamp;
use xecure::testing::World;
use xecure_local::api_gateway::LocalData;

pub async fn world_signing_from(now: Timestamp) -> (World, LocalData) {
    let world = World::embedded();
    world
        .rotate_signing_key(
            now,
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(900),
        )
        .await;
    let data = LocalData {
        store: world.store.clone(),
        sealer: Some(world.sealer.clone()),
    };
    (world, data)
}
