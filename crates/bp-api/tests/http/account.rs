//! The account endpoints of the settings page: preferences that the next
//! enhancement honours, the history switch, the full export, and account
//! deletion that erases the data.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{PASSWORD, call, enhance, get, login, register, with_role};

#[tokio::test]
async fn preferences_are_validated_saved_and_used_by_the_next_enhancement() {
    let app = TestApp::init().await;
    let ada = register(&app, "prefs").await;
    let fresh = get(&app, "/api/v1/account/preferences", Some(&ada)).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.json);
    assert_eq!(fresh.json["keep_history"], true);
    assert_eq!(fresh.json["preferred_techniques"], json!([]));
    assert_eq!(fresh.json["enhancement_level"], json!(null));

    let put = |body: serde_json::Value| {
        let app = &app;
        let ada = &ada;
        async move { call(app, Method::PUT, "/api/v1/account/preferences", &body, Some(ada)).await }
    };
    let base = json!({
        "preferred_techniques": ["few_shot"],
        "excluded_techniques": ["role_play", "step_by_step"],
        "complexity_preference": null,
        "enhancement_level": "thorough",
        "keep_history": true,
    });
    // Bad values are a 400 naming the field, and change nothing.
    for (field, value) in [
        ("excluded_techniques", json!(["mind_reading"])),
        ("excluded_techniques", json!(["few_shot"])),
        ("enhancement_level", json!("extreme")),
        ("complexity_preference", json!("huge")),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let res = put(body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{field}: {}", res.json);
        assert!(
            res.json["error"].as_str().unwrap().contains("invalid"),
            "{}",
            res.json
        );
    }
    assert_eq!(
        get(&app, "/api/v1/account/preferences", Some(&ada)).await.json["enhancement_level"],
        json!(null)
    );

    let saved = put(base.clone()).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.json);
    assert_eq!(saved.json["enhancement_level"], "thorough");
    let again = get(&app, "/api/v1/account/preferences", Some(&ada)).await;
    assert_eq!(again.json, saved.json);

    // The next enhancement uses them: the level, and no excluded technique.
    let text = "Walk me through setting up a Python virtual environment on Windows and installing requests.";
    let res = call(
        &app,
        Method::POST,
        "/api/v1/enhance",
        &json!({ "text": text }),
        Some(&ada),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["level"], "thorough");
    let used: Vec<&str> = res.json["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(
        !used.contains(&"step_by_step") && !used.contains(&"role_play"),
        "{used:?}"
    );

    // History off: the next enhancement is not in the history.
    let mut off = base.clone();
    off["keep_history"] = json!(false);
    assert_eq!(put(off).await.status, StatusCode::OK);
    let before = get(&app, "/api/v1/history", Some(&ada)).await.json["data"]
        .as_array()
        .unwrap()
        .len();
    enhance(&app, "Name three rivers in Africa.", Some(&ada)).await;
    let after = get(&app, "/api/v1/history", Some(&ada)).await;
    assert_eq!(
        after.json["data"].as_array().unwrap().len(),
        before,
        "{}",
        after.json
    );
    assert!(!after.text.contains("rivers in Africa"));
}

#[tokio::test]
async fn the_export_holds_everything_and_no_secret() {
    let app = TestApp::init().await;
    // A developer, so that the account has an API key to leave out.
    let bo = with_role(&app, register(&app, "exporter").await, "developer").await;
    let id = enhance(&app, "Write a limerick about a cat who codes.", Some(&bo)).await;
    let saved = call(
        &app,
        Method::POST,
        "/api/v1/prompts/saved",
        &json!({ "title": "Cat limerick", "history_id": id, "tags": ["fun"] }),
        Some(&bo),
    )
    .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.json);
    let key = call(
        &app,
        Method::POST,
        "/api/v1/dev/api-keys",
        &json!({ "name": "laptop" }),
        Some(&bo),
    )
    .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.json);
    let secret = key.json["key"].as_str().unwrap().to_owned();

    let res = get(&app, "/api/v1/account/export", Some(&bo)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(
        res.headers
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("attachment"))
    );
    assert_eq!(res.json["account"]["username"], "exporter");
    assert_eq!(
        res.json["history"][0]["original_input"],
        "Write a limerick about a cat who codes."
    );
    assert_eq!(res.json["saved_prompts"][0]["title"], "Cat limerick");
    assert_eq!(res.json["preferences"]["keep_history"], true);
    assert!(!res.text.contains("password_hash") && !res.text.contains("$2"));
    assert!(
        !res.text.contains(&secret),
        "the export must not hold the API key"
    );
    assert_eq!(res.json["api_keys"][0]["name"], "laptop");
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_erases_its_data() {
    let app = TestApp::init().await;
    let cy = register(&app, "leaver").await;
    let keep = register(&app, "stayer").await;
    enhance(
        &app,
        "Draft an email to my landlord about a broken boiler.",
        Some(&cy),
    )
    .await;
    enhance(
        &app,
        "Summarize the plot of Hamlet in three sentences.",
        Some(&keep),
    )
    .await;
    let pool = app.db().unwrap().pool().clone();
    let rows_of = |user: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM prompts.history WHERE user_id = $1::uuid")
                .bind(user)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(rows_of(cy.id.clone()).await, 1);

    // A wrong password erases nothing.
    let wrong = call(
        &app,
        Method::DELETE,
        "/api/v1/account",
        &json!({ "password": "Not-the-password-1!" }),
        Some(&cy),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.json);
    assert_eq!(rows_of(cy.id.clone()).await, 1);

    let done = call(
        &app,
        Method::DELETE,
        "/api/v1/account",
        &json!({ "password": PASSWORD }),
        Some(&cy),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    assert_eq!(done.json["history"], 1);
    // The rows are gone, not anonymised; nothing with the text is left.
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM prompts.history WHERE original_input LIKE '%landlord%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users WHERE id = $1::uuid")
        .bind(&cy.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
    // Its token stops at once, and it cannot sign in.
    assert_eq!(
        get(&app, "/api/v1/auth/me", Some(&cy)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "leaver", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Another account is untouched.
    assert_eq!(rows_of(keep.id.clone()).await, 1);
    assert_eq!(
        get(&app, "/api/v1/auth/me", Some(&keep)).await.status,
        StatusCode::OK
    );
}
