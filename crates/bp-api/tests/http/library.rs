//! Saved prompts, share links, collections, templates and semantic search.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::{Value, json};

use super::{call, count, enhance, get, register};

#[tokio::test]
async fn saved_prompts_are_private_to_their_owner_and_shared_only_by_link() {
    let app = TestApp::init().await;
    let ana = register(&app, "ana").await;
    let bob = register(&app, "bob").await;
    let history = enhance(&app, "Write a haiku about autumn leaves", Some(&ana)).await;
    let bobs_history = enhance(&app, "Explain how a compiler works", Some(&bob)).await;

    let body = json!({ "title": "Haiku", "history_id": history, "tags": ["poetry"], "description": "nice" });
    let res = call(&app, Method::POST, "/api/v1/prompts/saved", &body, Some(&ana)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    let id = res.json["id"].as_str().unwrap().to_owned();
    assert_eq!(res.json["original_text"], "Write a haiku about autumn leaves");
    assert!(res.json["enhanced_text"].as_str().is_some_and(|t| t.len() > 30));
    assert_eq!(res.json["share_token"], Value::Null);

    // Saving someone else's enhancement is refused and writes nothing.
    let saved_before = count(&app, "prompts.saved_prompts").await;
    let stolen = json!({ "title": "mine now", "history_id": bobs_history });
    let res = call(&app, Method::POST, "/api/v1/prompts/saved", &stolen, Some(&ana)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.json);
    for bad in [
        json!({ "title": "" }),
        json!({ "title": "x", "tags": vec!["a"; 21] }),
        json!({ "title": 5 }),
    ] {
        let res = call(&app, Method::POST, "/api/v1/prompts/saved", &bad, Some(&ana)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.json);
    }
    assert_eq!(count(&app, "prompts.saved_prompts").await, saved_before);

    let path = format!("/api/v1/prompts/saved/{id}");
    for (method, body) in [
        (Method::GET, json!(null)),
        (Method::PUT, json!({ "title": "hijacked" })),
        (Method::DELETE, json!(null)),
    ] {
        let res = call(&app, method.clone(), &path, &body, Some(&bob)).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "{method} of another's saved prompt"
        );
    }
    let res = get(&app, &path, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    let res = get(&app, "/api/v1/prompts/saved?tag=poetry", Some(&ana)).await;
    assert_eq!(res.json["pagination"]["total_records"], 1, "{}", res.json);
    assert_eq!(res.json["data"][0]["title"], "Haiku");
    let res = get(&app, "/api/v1/prompts/saved", Some(&bob)).await;
    assert_eq!(res.json["data"], json!([]));

    let update = json!({ "title": "Autumn haiku", "tags": ["poetry", "seasons"], "share": true });
    let res = call(&app, Method::PUT, &path, &update, Some(&ana)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["title"], "Autumn haiku");
    let url = res.json["share_url"].as_str().unwrap().to_owned();

    for _ in 0..2 {
        let shared = app.get(&url).await;
        assert_eq!(shared.status, StatusCode::OK, "{}", shared.json);
        assert_eq!(shared.json["type"], "saved_prompt");
        assert_eq!(shared.json["title"], "Autumn haiku");
        assert!(shared.json.get("share_token").is_none() && shared.json.get("history_id").is_none());
    }
    let res = get(&app, &path, Some(&ana)).await;
    assert_eq!(res.json["view_count"], 2, "views through the link are counted");

    let res = call(&app, Method::PUT, &path, &json!({ "share": false }), Some(&ana)).await;
    assert_eq!(res.json["share_url"], Value::Null);
    assert_eq!(
        app.get(&url).await.status,
        StatusCode::NOT_FOUND,
        "an unshared link still works"
    );

    let res = call(&app, Method::DELETE, &path, &json!(null), Some(&ana)).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = get(&app, &path, Some(&ana)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn share_tokens_that_are_not_tokens_never_reach_the_database() {
    let app = TestApp::init().await;
    let ana = register(&app, "sharer").await;
    let res = call(
        &app,
        Method::POST,
        "/api/v1/prompts/saved",
        &json!({ "title": "t", "share": true }),
        Some(&ana),
    )
    .await;
    let token = res.json["share_token"].as_str().unwrap().to_owned();
    let views = || async {
        sqlx::query_scalar::<_, i32>("SELECT view_count FROM prompts.saved_prompts")
            .fetch_one(app.db().unwrap().pool())
            .await
            .unwrap()
    };
    for path in [
        "/api/v1/shared/..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/api/v1/shared/%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        "/api/v1/shared/..".to_owned(),
        format!("/api/v1/shared/{token}%00"),
        format!("/api/v1/shared/{token}x"),
        format!("/api/v1/shared/{}", &token[..42]),
        "/api/v1/shared/'%20OR%20'1'='1".to_owned(),
        format!("/api/v1/shared/{}", "A".repeat(43)),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.text);
        assert!(res.json["error"].is_string(), "{path}: not a JSON error");
    }
    assert_eq!(views().await, 0, "a bad token counted a view");
    assert_eq!(
        app.get(&format!("/api/v1/shared/{token}")).await.status,
        StatusCode::OK
    );
    assert_eq!(views().await, 1);
}

async fn save(app: &TestApp, who: &super::Account, title: &str) -> String {
    let res = call(
        app,
        Method::POST,
        "/api/v1/prompts/saved",
        &json!({ "title": title }),
        Some(who),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    res.json["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn collections_hold_the_owners_prompts_in_order_and_can_be_shared() {
    let app = TestApp::init().await;
    let ana = register(&app, "collector").await;
    let bob = register(&app, "other").await;
    let first = save(&app, &ana, "first").await;
    let second = save(&app, &ana, "second").await;
    let bobs = save(&app, &bob, "bob's").await;

    let before = count(&app, "prompts.collections").await;
    for bad in [
        json!({ "name": "x", "color": "red" }),
        json!({ "color": "#ffffff" }),
        json!({ "name": "" }),
    ] {
        let res = call(&app, Method::POST, "/api/v1/collections", &bad, Some(&ana)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.json);
    }
    assert_eq!(count(&app, "prompts.collections").await, before);

    let res = call(
        &app,
        Method::POST,
        "/api/v1/collections",
        &json!({ "name": "Poems", "color": "#aa33ff" }),
        Some(&ana),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    let id = res.json["id"].as_str().unwrap().to_owned();
    let members = format!("/api/v1/collections/{id}/prompts");
    for saved in [&second, &first] {
        let res = call(
            &app,
            Method::POST,
            &format!("{members}/{saved}"),
            &json!(null),
            Some(&ana),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    }
    for (saved, who, status, what) in [
        (first.as_str(), &ana, StatusCode::CONFLICT, "added twice"),
        (
            bobs.as_str(),
            &ana,
            StatusCode::NOT_FOUND,
            "another user's prompt added",
        ),
        (
            first.as_str(),
            &bob,
            StatusCode::NOT_FOUND,
            "added to another user's collection",
        ),
        (
            "not-a-uuid",
            &ana,
            StatusCode::NOT_FOUND,
            "a path id that is not a UUID",
        ),
    ] {
        let res = call(
            &app,
            Method::POST,
            &format!("{members}/{saved}"),
            &json!(null),
            Some(who),
        )
        .await;
        assert_eq!(res.status, status, "{what}: {}", res.json);
    }

    let path = format!("/api/v1/collections/{id}");
    let titles = |v: &Value| -> Vec<String> {
        v["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let res = get(&app, &path, Some(&ana)).await;
    assert_eq!(titles(&res.json), ["second", "first"]);

    let res = call(&app, Method::PUT, &path, &json!({ "order": [first] }), Some(&ana)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "an order missing a member");
    let res = call(
        &app,
        Method::PUT,
        &path,
        &json!({ "name": "Best poems", "order": [first, second], "share": true }),
        Some(&ana),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let url = res.json["share_url"].as_str().unwrap().to_owned();
    let res = get(&app, &path, Some(&ana)).await;
    assert_eq!(titles(&res.json), ["first", "second"]);
    assert_eq!(res.json["name"], "Best poems");

    let shared = app.get(&url).await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.json);
    assert_eq!(shared.json["type"], "collection");
    assert_eq!(titles(&shared.json), ["first", "second"]);

    let res = get(&app, "/api/v1/collections", Some(&ana)).await;
    assert_eq!(res.json["data"][0]["prompt_count"], 2, "{}", res.json);
    let res = get(&app, &path, Some(&bob)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let res = call(
        &app,
        Method::DELETE,
        &format!("{members}/{first}"),
        &json!(null),
        Some(&ana),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = call(
        &app,
        Method::DELETE,
        &format!("{members}/{first}"),
        &json!(null),
        Some(&ana),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "removed twice");
    let res = call(&app, Method::DELETE, &path, &json!(null), Some(&ana)).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = get(&app, &format!("/api/v1/prompts/saved/{second}"), Some(&ana)).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "deleting a collection deleted its prompts"
    );
}

#[tokio::test]
async fn templates_are_public_filtered_and_served_from_the_cache() {
    let app = TestApp::init().await;
    let res = app.get("/api/v1/templates").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let all = res.json["total"].as_u64().unwrap();
    assert!(all >= 12, "{all} templates");
    let res = app.get("/api/v1/templates?technique=chain_of_thought").await;
    assert!(
        res.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["technique"] == "chain_of_thought")
    );
    assert!(res.json["total"].as_u64().unwrap() >= 1);

    let slug = res.json["data"][0]["slug"].as_str().unwrap().to_owned();
    let res = app.get(&format!("/api/v1/templates/{slug}")).await;
    assert_eq!(res.status, StatusCode::OK);
    let name = res.json["name"].as_str().unwrap().to_owned();

    // A change made behind the service's back is not seen while cached...
    sqlx::query("UPDATE prompts.templates SET name = 'Renamed' WHERE slug = $1")
        .bind(&slug)
        .execute(app.db().unwrap().pool())
        .await
        .unwrap();
    let res = app.get(&format!("/api/v1/templates/{slug}")).await;
    assert_eq!(res.json["name"], name.as_str(), "not served from the cache");
    // ... and is once the namespace is cleared.
    app.cache()
        .flush_namespace(bp_cache::Namespace::Templates)
        .await
        .unwrap();
    let res = app.get(&format!("/api/v1/templates/{slug}")).await;
    assert_eq!(res.json["name"], "Renamed");

    for bad in ["no-such-template", "..%2F..%2Fetc", "UPPER", "a'b"] {
        let res = app.get(&format!("/api/v1/templates/{bad}")).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn search_finds_the_callers_own_prompts_and_never_another_users() {
    let app = TestApp::init().await;
    let ana = register(&app, "seeker").await;
    let bob = register(&app, "hider").await;
    let mine = enhance(
        &app,
        "Write a python function that reverses a linked list",
        Some(&ana),
    )
    .await;
    enhance(&app, "Plan a two week trip to Japan in spring", Some(&ana)).await;
    let his = enhance(
        &app,
        "Write a python function that reverses a linked list in place",
        Some(&bob),
    )
    .await;
    app.state().service().unwrap().embeddings().flush().await;

    let body =
        json!({ "query": "python function to reverse a linked list", "source_type": "prompt_history" });
    let res = call(&app, Method::POST, "/api/v1/search", &body, Some(&ana)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let hits = res.json["results"].as_array().unwrap();
    assert_eq!(hits[0]["source_id"], mine.as_str(), "{}", res.json);
    assert!(
        hits.iter().all(|h| h["source_id"] != his.as_str()),
        "another user's prompt was found"
    );
    assert!(
        hits[0]["similarity"].as_f64().unwrap() > hits.last().unwrap()["similarity"].as_f64().unwrap() - 1e-9
    );

    let res = call(
        &app,
        Method::POST,
        "/api/v1/search",
        &json!({ "query": "chain of thought reasoning", "source_type": "template", "limit": 3 }),
        Some(&ana),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["total"], 3, "templates are searchable: {}", res.json);

    for bad in [
        json!({ "query": "   " }),
        json!({ "query": "x", "limit": 0 }),
        json!({ "query": "x", "limit": 51 }),
        json!({ "query": "x", "source_type": "users" }),
        json!({ "query": "x", "threshold": 2.0 }),
        json!({ "query": "x".repeat(2001) }),
        json!({ "limit": 3 }),
    ] {
        let res = call(&app, Method::POST, "/api/v1/search", &bad, Some(&ana)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.json);
    }
    let res = call(
        &app,
        Method::POST,
        "/api/v1/search",
        &json!({ "query": "x" }),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}
