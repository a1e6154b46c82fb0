//! Contract properties of the audit log (`AuditStore`): one operation's records stored
//! together, pages newest first without gaps or repeats, a range found across days whoever it
//! concerns, bad queries refused as typed errors.

use super::{at, audit_event, client_id, event_id, first_page, user_id, T0};
use crate::domain::*;
use crate::ports::{Store, StoreError};
use std::sync::Arc;

pub async fn audit_records_of_one_operation_are_stored_together<S: Store>(store: Arc<S>) {
    let retained = at(86_400);
    let records: Vec<AuditEvent> = (0..3)
        .map(|n| audit_event(n, Some("usr_carol"), Some("b"), at(n as u64), retained))
        .collect();
    store.append_audits(&records).await.unwrap();
    store.append_audits(&[]).await.unwrap();
    let query = first_page(AuditSubject::User(user_id("usr_carol")), 10);
    let page = store.query_audit(&query, at(5)).await.unwrap();
    let mut newest_first = records.clone();
    newest_first.reverse();
    assert_eq!(page.events, newest_first);
}

pub async fn audit_pages_newest_first<S: Store>(store: Arc<S>) {
    let retained = at(86_400);
    for n in 0..25 {
        let user = if n % 5 == 4 { "usr_bob" } else { "usr_alice" };
        store
            .append_audit(&audit_event(
                n,
                Some(user),
                Some("a"),
                at(n as u64),
                retained,
            ))
            .await
            .unwrap();
    }
    // Two events in the same millisecond are ordered by id, and neither is lost at a page edge.
    store
        .append_audit(&audit_event(100, Some("usr_alice"), None, at(7), retained))
        .await
        .unwrap();
    // Expired records and records outside the range never appear.
    store
        .append_audit(&audit_event(
            200,
            Some("usr_alice"),
            Some("a"),
            at(30),
            at(31),
        ))
        .await
        .unwrap();
    store
        .append_audit(&audit_event(201, None, Some("a"), at(40), retained))
        .await
        .unwrap();

    let read_all = |subject: AuditSubject, limit: usize| {
        let store = Arc::clone(&store);
        async move {
            let mut pages = Vec::new();
            let mut cursor = None;
            loop {
                let query = AuditQuery {
                    subject: subject.clone(),
                    from: T0,
                    to: at(40),
                    limit,
                    cursor,
                };
                let page = store.query_audit(&query, at(35)).await.unwrap();
                pages.push(
                    page.events
                        .iter()
                        .map(|e| e.id.to_string())
                        .collect::<Vec<_>>(),
                );
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return pages,
                }
                assert!(pages.len() < 100, "pagination must end");
            }
        }
    };

    let alice = read_all(AuditSubject::User(user_id("usr_alice")), 7).await;
    let sizes: Vec<usize> = alice.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        vec![7, 7, 7],
        "21 records (20 + the same-millisecond one) in pages of 7"
    );
    let flat: Vec<String> = alice.concat();
    let mut expected: Vec<String> = (0..25)
        .filter(|n| n % 5 != 4)
        .map(|n| format!("evt_{n:04}"))
        .collect();
    expected.push("evt_0100".into());
    expected.sort_by_key(|id| {
        let n: usize = id[4..].parse().unwrap();
        let second = if n == 100 { 7 } else { n };
        (std::cmp::Reverse(second), std::cmp::Reverse(id.clone()))
    });
    assert_eq!(flat, expected, "newest first, no gaps, no repeats");

    let client_pages = read_all(AuditSubject::Client(client_id("a")), 10).await;
    assert_eq!(
        client_pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
    assert_eq!(client_pages[0][0], "evt_0024");
    assert!(
        !client_pages.concat().contains(&"evt_0201".to_owned()),
        "`to` is exclusive"
    );

    let window = AuditQuery {
        subject: AuditSubject::User(user_id("usr_bob")),
        from: at(9),
        to: at(20),
        limit: 10,
        cursor: None,
    };
    let bob: Vec<String> = store
        .query_audit(&window, at(35))
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(bob, vec!["evt_0019", "evt_0014", "evt_0009"]);
}

pub async fn bad_requests_are_typed_errors<S: Store>(store: Arc<S>) {
    let query = |limit, cursor| AuditQuery {
        subject: AuditSubject::User(user_id("usr_a")),
        from: T0,
        to: at(1),
        limit,
        cursor,
    };
    assert!(matches!(
        store.query_audit(&query(0, None), T0).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        store.query_audit(&query(1001, None), T0).await,
        Err(StoreError::InvalidRequest(_))
    ));
    let forged = PageCursor::after(T0, &event_id("evt_1"));
    let page = store
        .query_audit(&query(5, Some(forged)), T0)
        .await
        .unwrap();
    assert!(page.events.is_empty());
}

pub async fn every_audit_record_of_a_range_is_found_across_days<S: Store>(store: Arc<S>) {
    let day = 86_400;
    let retained = at(10 * day);
    // Three days, subjects or none (a failed login of a username that does not exist).
    let records = [
        (1, Some("usr_alice"), Some("a"), at(100)),
        (2, None, None, at(200)),
        (3, None, Some("b"), at(day + 100)),
        (4, Some("usr_bob"), None, at(day + 200)),
        (5, None, None, at(2 * day + 100)),
        (6, Some("usr_alice"), None, at(2 * day + 100)),
        (7, None, None, at(3 * day + 100)),
    ];
    for (n, user, client, when) in records {
        store
            .append_audit(&audit_event(n, user, client, when, retained))
            .await
            .unwrap();
    }
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let query = AuditQuery {
            subject: AuditSubject::All,
            from: at(150),
            to: at(3 * day),
            limit: 2,
            cursor,
        };
        let page = store.query_audit(&query, at(3 * day)).await.unwrap();
        pages.push(
            page.events
                .iter()
                .map(|e| e.id.to_string())
                .collect::<Vec<_>>(),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages.len() < 10, "pagination must end");
    }
    assert_eq!(
        pages.concat(),
        ["evt_0006", "evt_0005", "evt_0004", "evt_0003", "evt_0002"],
        "newest first across days and shards, ties by id, within [from, to)"
    );
    assert_eq!(pages[0].len(), 2);
}

/// Appends racing each other (the embedded store commits whatever is queued in one
/// transaction): every caller's records are stored, none lost from a batch.
pub async fn racing_audit_appends_are_all_stored<S: Store + 'static>(store: Arc<S>) {
    // Caller n stores one record at second n; every fourth caller an operation of three.
    let operation = |n: usize| -> Vec<AuditEvent> {
        let records = if n.is_multiple_of(4) { 3 } else { 1 };
        (0..records)
            .map(|k| audit_event(n * 10 + k, None, Some("c"), at(n as u64), at(86_400)))
            .collect()
    };
    let mut appends = tokio::task::JoinSet::new();
    for n in 0..48 {
        let (store, records) = (Arc::clone(&store), operation(n));
        appends.spawn(async move { store.append_audits(&records).await.unwrap() });
    }
    while let Some(done) = appends.join_next().await {
        done.unwrap();
    }
    let query = first_page(AuditSubject::Client(client_id("c")), 100);
    let page = store.query_audit(&query, at(50)).await.unwrap();
    let mut stored: Vec<EventId> = page.events.into_iter().map(|e| e.id).collect();
    stored.sort();
    let mut expected: Vec<EventId> = (0..48).flat_map(operation).map(|e| e.id).collect();
    expected.sort();
    assert_eq!(stored, expected);
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, audit;
            audit_records_of_one_operation_are_stored_together,
            audit_pages_newest_first,
            racing_audit_appends_are_all_stored,
            bad_requests_are_typed_errors,
            every_audit_record_of_a_range_is_found_across_days,
        );
    };
}
pub(crate) use properties;
