//! Contract properties of the client registry (`ClientStore`): created once, updated,
//! listed and deleted.

use super::{client, client_id};
use crate::ports::{Store, StoreError};
use std::sync::Arc;

pub async fn clients_round_trip<S: Store>(store: Arc<S>) {
    assert_eq!(store.get_client(&client_id("a")).await.unwrap(), None);
    store.put_client(&client("a")).await.unwrap();
    store.put_client(&client("b")).await.unwrap();
    assert!(
        matches!(
            store.put_client(&client("a")).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "creating never replaces"
    );
    let mut renamed = client("a");
    renamed.display_name = "Renamed".into();
    renamed.version = 2;
    assert!(store.update_client(&renamed).await.unwrap());
    assert_eq!(
        store.get_client(&client_id("a")).await.unwrap(),
        Some(renamed)
    );
    let mut ids: Vec<String> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b"]);
    assert!(store.delete_client(&client_id("a")).await.unwrap());
    assert!(!store.delete_client(&client_id("a")).await.unwrap());
    assert_eq!(store.get_client(&client_id("a")).await.unwrap(), None);
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, clients;
            clients_round_trip,
        );
    };
}
pub(crate) use properties;
