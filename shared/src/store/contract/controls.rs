//! Contract properties behind the controls (security rules 16 and 17): user cuts void what
//! rests on earlier sign-ins, grant and client writes apply only over the version read, and
//! what a user takes back from a grant is taken from every token of it.

use super::{
    at, client, client_id, code, consented, grant, new_family, refresh_token, stamp, user, T0,
};
use crate::domain::*;
use crate::ports::{CodeRedemption, Rotation, Store, StoreError};
use std::sync::Arc;

fn cut_entry(id: &str, user: &User, when: Timestamp) -> Revocation {
    stamp(id, when).revoke(RevocationTarget::User(user.id.clone()))
}

pub async fn user_cuts_void_credentials_from_earlier_sign_ins<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let old_code = code("code-before", &grant);
    store.put_code(&old_code).await.unwrap();
    let family = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&family).await.unwrap();

    // Sign out everywhere at t+10: one write moves the account's cut and puts the entry.
    let alice = store.get_user(&user("alice").id).await.unwrap().unwrap();
    let cut = alice.cut_at(at(10));
    store
        .update_user(&cut, Some(&cut_entry("evt_cut", &alice, at(10))))
        .await
        .unwrap();
    let next = refresh_token("refresh-2", &family.family, at(11));
    assert_eq!(
        store
            .rotate_refresh(&family.token.digest, &next, &stamp("evt_1", at(11)))
            .await
            .unwrap(),
        Rotation::Revoked,
        "a refresh family from the earlier sign-in"
    );
    assert_eq!(
        store.redeem_code(&old_code, at(11), None).await.unwrap(),
        CodeRedemption::Revoked,
        "a code from the earlier sign-in"
    );
    assert_eq!(
        store
            .get_code(&old_code.digest, at(11))
            .await
            .unwrap()
            .unwrap()
            .redeemed_at,
        None,
        "and it stays unspent"
    );
    // A sign-in after the cut stands.
    let fresh = AuthorizationCode {
        auth_time: at(12),
        ..code("code-after", &grant)
    };
    store.put_code(&fresh).await.unwrap();
    assert!(matches!(
        store.redeem_code(&fresh, at(13), None).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    let entries = store.list_revocations_since(T0, at(13)).await.unwrap();
    assert_eq!(
        entries.iter().map(|r| &r.target).collect::<Vec<_>>(),
        [&RevocationTarget::User(alice.id.clone())]
    );

    // Disabled: nothing stands, whenever the sign-in was.
    let disabled = User {
        disabled: true,
        ..cut.cut_at(at(20))
    };
    store.update_user(&disabled, None).await.unwrap();
    let later = AuthorizationCode {
        auth_time: at(30),
        ..code("code-while-disabled", &grant)
    };
    store.put_code(&later).await.unwrap();
    assert_eq!(
        store.redeem_code(&later, at(31), None).await.unwrap(),
        CodeRedemption::Revoked
    );

    // Removed: the account is gone, so is everything resting on it; the name is free.
    assert!(store
        .delete_user(&disabled, &cut_entry("evt_rm", &disabled, at(40)))
        .await
        .unwrap());
    assert_eq!(store.get_user(&disabled.id).await.unwrap(), None);
    let again = AuthorizationCode {
        auth_time: at(41),
        ..code("code-after-removal", &grant)
    };
    store.put_code(&again).await.unwrap();
    assert_eq!(
        store.redeem_code(&again, at(42), None).await.unwrap(),
        CodeRedemption::Revoked
    );
    let newcomer = User {
        id: UserId::parse("usr_alice2").unwrap(),
        ..user("alice")
    };
    store.create_user(&newcomer).await.unwrap();
    assert_eq!(
        store
            .get_user_by_username(&newcomer.username)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(newcomer.id)
    );
}

pub async fn grant_writes_apply_only_over_the_version_read<S: Store + 'static>(store: Arc<S>) {
    let first = grant("usr_alice", "a", "grt_1");
    // Many first-time approvals at once: exactly one creates the grant.
    let writers: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            let grant = Grant {
                id: GrantId::parse(&format!("grt_{i}")).unwrap(),
                ..first.clone()
            };
            tokio::spawn(async move { store.save_grant(&grant, None).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for writer in writers {
        created += usize::from(writer.await.unwrap());
    }
    assert_eq!(created, 1, "one of 16 concurrent first approvals");
    let stored = store
        .get_grant(&first.user_id, &first.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1);

    // An approval that read version 1 loses to a revocation that landed after its read.
    assert!(store
        .revoke_grant(&first.user_id, &first.client_id, &stamp("evt_r", at(5)))
        .await
        .unwrap());
    let revoked = store
        .get_grant(&first.user_id, &first.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((revoked.version, revoked.revoked_at), (2, Some(at(5))));
    let stale = Grant {
        version: 2,
        ..stored.clone()
    };
    assert!(
        !store.save_grant(&stale, None).await.unwrap(),
        "written over version 1, which a revocation moved"
    );
    assert!(store
        .get_grant(&first.user_id, &first.client_id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    // Read again (version 2, revoked): a new approval stands.
    let renewed = Grant {
        id: GrantId::parse("grt_new").unwrap(),
        version: 3,
        ..first.clone()
    };
    assert!(store.save_grant(&renewed, None).await.unwrap());
    assert!(matches!(
        store
            .save_grant(
                &Grant {
                    version: 0,
                    ..renewed
                },
                None
            )
            .await,
        Err(StoreError::InvalidRequest(_))
    ));
}

pub async fn a_narrower_consent_ends_earlier_codes_and_families<S: Store>(store: Arc<S>) {
    let wide = Grant {
        scope: Scope::parse("orders:read profile:read").unwrap(),
        ..grant("usr_alice", "a", "grt_1")
    };
    consented(&store, &wide).await;
    let issued = code("code-wide", &wide);
    store.put_code(&issued).await.unwrap();
    let family = new_family("fam_1", &wide, "refresh-1");
    store.put_refresh_family(&family).await.unwrap();

    // The user takes orders:read back: one write with the entry that stops its tokens, and
    // a new epoch that ends every code and family of the earlier consent.
    let narrow = Grant {
        scope: Scope::parse("profile:read").unwrap(),
        version: 2,
        family_epoch: 1,
        ..wide.clone()
    };
    let dropped = RevocationTarget::GrantNarrowed {
        grant: wide.id.clone(),
        dropped: Scope::parse("orders:read").unwrap(),
    };
    assert!(store
        .save_grant(
            &narrow,
            Some(&stamp("evt_n", at(3)).revoke(dropped.clone()))
        )
        .await
        .unwrap());
    assert_eq!(
        store.redeem_code(&issued, at(4), None).await.unwrap(),
        CodeRedemption::Revoked
    );
    let next = refresh_token("refresh-2", &family.family, at(5));
    assert_eq!(
        store
            .rotate_refresh(&family.token.digest, &next, &stamp("evt_1", at(5)))
            .await
            .unwrap(),
        Rotation::Revoked
    );
    let entries = store.list_revocations_since(T0, at(5)).await.unwrap();
    assert_eq!(
        entries.into_iter().map(|r| r.target).collect::<Vec<_>>(),
        vec![dropped]
    );
    // Granting it again later does not bring the old family back; new credentials work.
    let again = Grant {
        scope: wide.scope.clone(),
        version: 3,
        ..narrow.clone()
    };
    assert!(store.save_grant(&again, None).await.unwrap());
    assert_eq!(
        store
            .rotate_refresh(&family.token.digest, &next, &stamp("evt_2", at(6)))
            .await
            .unwrap(),
        Rotation::Revoked
    );
    let fresh = AuthorizationCode {
        grant_epoch: 1,
        ..code("code-after", &again)
    };
    store.put_code(&fresh).await.unwrap();
    assert!(matches!(
        store.redeem_code(&fresh, at(7), None).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
}

/// A disabled client, or one at a later revision (a material change), backs none of its
/// earlier codes and refresh families; a removed one backs nothing.
pub async fn client_changes_end_earlier_codes_and_families<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let codes: Vec<AuthorizationCode> =
        (0..3).map(|n| code(&format!("code-{n}"), &grant)).collect();
    for code in &codes {
        store.put_code(code).await.unwrap();
    }
    let family = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&family).await.unwrap();
    let original = store.get_client(&client_id("a")).await.unwrap().unwrap();
    let disabled = Client {
        disabled: true,
        version: original.version + 1,
        ..original.clone()
    };
    assert!(store.update_client(&disabled).await.unwrap());
    assert_eq!(
        store.redeem_code(&codes[0], at(1), None).await.unwrap(),
        CodeRedemption::Revoked
    );
    let next = refresh_token("refresh-2", &family.family, at(2));
    let rotate = |next: RefreshToken, id: &'static str, when| {
        let store = Arc::clone(&store);
        let presented = family.token.digest.clone();
        async move {
            store
                .rotate_refresh(&presented, &next, &stamp(id, when))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        rotate(next.clone(), "evt_1", at(2)).await,
        Rotation::Revoked
    );
    // Enabled again at a new revision: what began under the old one stays refused.
    let enabled = Client {
        disabled: false,
        revision: 1,
        version: disabled.version + 1,
        ..disabled
    };
    assert!(store.update_client(&enabled).await.unwrap());
    assert_eq!(
        store.redeem_code(&codes[1], at(3), None).await.unwrap(),
        CodeRedemption::Revoked
    );
    assert_eq!(
        rotate(next.clone(), "evt_2", at(3)).await,
        Rotation::Revoked
    );
    let current = AuthorizationCode {
        client_revision: 1,
        ..code("code-current", &grant)
    };
    store.put_code(&current).await.unwrap();
    assert!(matches!(
        store.redeem_code(&current, at(4), None).await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    assert!(store.delete_client(&client_id("a")).await.unwrap());
    let orphan = AuthorizationCode {
        client_revision: 1,
        ..codes[2].clone()
    };
    assert_eq!(
        store.redeem_code(&orphan, at(5), None).await.unwrap(),
        CodeRedemption::Revoked,
        "the client is gone"
    );
}

pub async fn client_updates_apply_only_over_the_version_read<S: Store>(store: Arc<S>) {
    let original = client("a");
    store.put_client(&original).await.unwrap();
    let disabled = Client {
        disabled: true,
        version: 2,
        ..original.clone()
    };
    assert!(store.update_client(&disabled).await.unwrap());
    let renamed_from_stale_read = Client {
        display_name: "Renamed".into(),
        version: 2,
        ..original.clone()
    };
    assert!(
        !store.update_client(&renamed_from_stale_read).await.unwrap(),
        "an update based on version 1 would undo the disable"
    );
    assert_eq!(
        store.get_client(&original.id).await.unwrap(),
        Some(disabled.clone())
    );
    assert!(store.delete_client(&original.id).await.unwrap());
    assert!(
        !store
            .update_client(&Client {
                version: 3,
                ..disabled
            })
            .await
            .unwrap(),
        "an update never brings a deleted client back"
    );
    assert_eq!(store.get_client(&client_id("a")).await.unwrap(), None);
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, controls;
            user_cuts_void_credentials_from_earlier_sign_ins,
            grant_writes_apply_only_over_the_version_read,
            a_narrower_consent_ends_earlier_codes_and_families,
            client_changes_end_earlier_codes_and_families,
            client_updates_apply_only_over_the_version_read,
        );
    };
}
pub(crate) use properties;
