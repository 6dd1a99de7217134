//! Saved prompts, collections and share tokens.

use bp_store::history;
use bp_store::library::{self, CollectionFields, NewSavedPrompt, SavedPromptUpdate};
use bp_store::{PageRequest, StoreError};
use bp_testkit::TestDb;
use uuid::Uuid;

fn saved(user_id: Uuid, title: &str, tags: &[&str]) -> NewSavedPrompt {
    NewSavedPrompt {
        user_id,
        title: title.into(),
        tags: tags.iter().map(|t| (*t).into()).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn saved_prompts_are_owner_only_and_paged_by_tag() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let bob = super::user_id(&db, "bob").await;
    let h = history::save_history(
        db.pool(),
        &super::history::item(Some(alice), "x", "reasoning", &[]),
    )
    .await
    .unwrap();
    let from_history = library::create_saved_prompt(
        db.pool(),
        &NewSavedPrompt {
            history_id: Some(h.id),
            ..saved(alice, "From history", &["work"])
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (from_history.history_id, from_history.view_count),
        (Some(h.id), Some(0))
    );
    let stolen = NewSavedPrompt {
        history_id: Some(h.id),
        ..saved(bob, "Not mine", &[])
    };
    assert!(matches!(
        library::create_saved_prompt(db.pool(), &stolen).await,
        Err(StoreError::NotFound { .. })
    ));
    for i in 0..4 {
        library::create_saved_prompt(
            db.pool(),
            &saved(
                alice,
                &format!("p{i}"),
                if i % 2 == 0 { &["work"] } else { &["home"] },
            ),
        )
        .await
        .unwrap();
    }
    let work = library::list_saved_prompts(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        Some("work"),
        PageRequest::new(1, 2).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!((work.total, work.items.len()), (3, 2));
    let all = library::list_saved_prompts(
        &mut db.pool().acquire().await.unwrap(),
        alice,
        None,
        PageRequest::new(1, 50).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(
        library::list_saved_prompts(
            &mut db.pool().acquire().await.unwrap(),
            bob,
            None,
            PageRequest::new(1, 50).unwrap()
        )
        .await
        .unwrap()
        .total,
        0
    );

    let upd = SavedPromptUpdate {
        title: Some("Renamed".into()),
        tags: Some(vec![]),
        ..Default::default()
    };
    assert!(matches!(
        library::update_saved_prompt(db.pool(), from_history.id, bob, &upd).await,
        Err(StoreError::NotFound { .. })
    ));
    let changed = library::update_saved_prompt(db.pool(), from_history.id, alice, &upd)
        .await
        .unwrap();
    assert_eq!(
        (changed.title.as_str(), changed.tags.as_deref()),
        ("Renamed", Some(&[][..]))
    );
    for bad in [
        saved(alice, "", &[]),
        saved(alice, "t", &[""]),
        saved(alice, &"t".repeat(256), &[]),
    ] {
        assert!(matches!(
            library::create_saved_prompt(db.pool(), &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    assert!(matches!(
        library::get_saved_prompt(db.pool(), from_history.id, bob).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        library::delete_saved_prompt(db.pool(), from_history.id, bob).await,
        Err(StoreError::NotFound { .. })
    ));
    // Deleting the history item deletes what was saved from it (schema cascade).
    history::delete_history(db.pool(), h.id, alice).await.unwrap();
    assert!(matches!(
        library::get_saved_prompt(db.pool(), from_history.id, alice).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn share_tokens_are_unguessable_count_views_and_can_be_revoked() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let p = library::create_saved_prompt(db.pool(), &saved(alice, "Share me", &[]))
        .await
        .unwrap();
    let token = library::share_saved_prompt(db.pool(), p.id, alice).await.unwrap();
    assert_eq!(token.len(), 43, "32 random bytes in base64url");
    let tokens: std::collections::HashSet<_> =
        (0..100).map(|_| library::new_share_token().unwrap()).collect();
    assert_eq!(tokens.len(), 100);
    for _ in 0..3 {
        library::view_shared_prompt(db.pool(), &token).await.unwrap();
    }
    assert_eq!(
        library::get_saved_prompt(db.pool(), p.id, alice)
            .await
            .unwrap()
            .view_count,
        Some(3)
    );
    let again = library::share_saved_prompt(db.pool(), p.id, alice).await.unwrap();
    assert_ne!(again, token);
    assert!(
        matches!(
            library::view_shared_prompt(db.pool(), &token).await,
            Err(StoreError::NotFound { .. })
        ),
        "old link dead"
    );
    library::unshare_saved_prompt(db.pool(), p.id, alice)
        .await
        .unwrap();
    assert!(matches!(
        library::view_shared_prompt(db.pool(), &again).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        library::view_shared_prompt(db.pool(), "' OR 1=1 --").await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn collections_add_remove_reorder_and_share() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let bob = super::user_id(&db, "bob").await;
    let fields = CollectionFields {
        name: Some("Favourites".into()),
        color: Some("#A1b2C3".into()),
        ..Default::default()
    };
    let c = library::create_collection(db.pool(), alice, &fields)
        .await
        .unwrap();
    assert_eq!(c.is_public, Some(false));
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            library::create_saved_prompt(db.pool(), &saved(alice, &format!("s{i}"), &[]))
                .await
                .unwrap()
                .id,
        );
    }
    let bobs = library::create_saved_prompt(db.pool(), &saved(bob, "bob's", &[]))
        .await
        .unwrap()
        .id;
    for id in &ids {
        library::add_to_collection(db.pool(), c.id, alice, *id)
            .await
            .unwrap();
    }
    let err = library::add_to_collection(db.pool(), c.id, alice, ids[0])
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { constraint } if constraint == "collection_prompts_pkey"));
    assert!(matches!(
        library::add_to_collection(db.pool(), c.id, alice, bobs).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        library::add_to_collection(db.pool(), c.id, bob, bobs).await,
        Err(StoreError::NotFound { .. })
    ));
    let titles = |v: Vec<library::SavedPrompt>| v.into_iter().map(|s| s.title).collect::<Vec<_>>();
    assert_eq!(
        titles(
            library::collection_prompts(db.pool(), c.id, Some(alice))
                .await
                .unwrap()
        ),
        ["s0", "s1", "s2"]
    );

    library::reorder_collection(db.pool(), c.id, alice, &[ids[2], ids[0], ids[1]])
        .await
        .unwrap();
    assert_eq!(
        titles(
            library::collection_prompts(db.pool(), c.id, Some(alice))
                .await
                .unwrap()
        ),
        ["s2", "s0", "s1"]
    );
    for bad in [
        vec![ids[0], ids[1]],
        vec![ids[0], ids[0], ids[1]],
        vec![ids[0], ids[1], bobs],
    ] {
        assert!(matches!(
            library::reorder_collection(db.pool(), c.id, alice, &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    assert_eq!(
        titles(
            library::collection_prompts(db.pool(), c.id, Some(alice))
                .await
                .unwrap()
        ),
        ["s2", "s0", "s1"],
        "a rejected reorder changes nothing"
    );
    assert!(matches!(
        library::reorder_collection(db.pool(), c.id, bob, &ids).await,
        Err(StoreError::NotFound { .. })
    ));

    library::remove_from_collection(db.pool(), c.id, alice, ids[0])
        .await
        .unwrap();
    assert!(matches!(
        library::remove_from_collection(db.pool(), c.id, alice, ids[0]).await,
        Err(StoreError::NotFound { .. })
    ));
    let listed = library::list_collections(db.pool(), alice).await.unwrap();
    assert_eq!((listed.len(), listed[0].prompt_count), (1, 2));

    assert!(
        library::collection_prompts(db.pool(), c.id, None)
            .await
            .unwrap()
            .is_empty(),
        "unshared: nothing without the owner"
    );
    let token = library::share_collection(db.pool(), c.id, alice).await.unwrap();
    let shared = library::get_shared_collection(db.pool(), &token).await.unwrap();
    assert_eq!(
        library::collection_prompts(db.pool(), shared.id, None)
            .await
            .unwrap()
            .len(),
        2
    );

    let bad = CollectionFields {
        color: Some("red".into()),
        ..Default::default()
    };
    assert!(matches!(
        library::update_collection(db.pool(), c.id, alice, &bad).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        library::create_collection(db.pool(), alice, &CollectionFields::default()).await,
        Err(StoreError::Invalid { .. })
    ));
    let renamed = CollectionFields {
        name: Some("Best".into()),
        ..Default::default()
    };
    assert_eq!(
        library::update_collection(db.pool(), c.id, alice, &renamed)
            .await
            .unwrap()
            .name,
        "Best"
    );
    assert!(matches!(
        library::delete_collection(db.pool(), c.id, bob).await,
        Err(StoreError::NotFound { .. })
    ));
    library::delete_collection(db.pool(), c.id, alice).await.unwrap();
    assert!(
        library::get_saved_prompt(db.pool(), ids[1], alice).await.is_ok(),
        "prompts outlive their collection"
    );
}
