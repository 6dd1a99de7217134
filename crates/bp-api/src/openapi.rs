//! The OpenAPI 3.0 document of the API, written from [`crate::routes`] (the
//! same table the router is built from) with body, query and response
//! schemas derived from the handlers' own types (`schemars`), and every
//! error status an operation can answer with the one error shape. Served at
//! `/api/v1/openapi.json`; `crates/bp-api/tests/openapi.snapshot.json` keeps
//! a copy that a test compares against, so every change to the contract
//! shows up in review.

use std::sync::OnceLock;

use axum::Json;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::routes::{Access, Endpoint, Success, Verb};

/// The document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document().clone())
}

fn build() -> Value {
    let mut generator = SchemaGenerator::new(SchemaSettings::openapi3());
    let table = crate::routes::table();
    let mut paths = Map::new();
    for e in table.endpoints() {
        let path = format!("/api/v1{}", e.path);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[e.verb.as_str()] = operation(e, &mut generator);
    }
    paths.insert(
        "/api/v1/openapi.json".into(),
        json!({ "get": { "tags": ["health"], "summary": "This document", "operationId": "get_openapi_json",
                         "responses": { "200": { "description": "OpenAPI 3.0 document" } } } }),
    );
    let mut schemas = generator.take_definitions(true);
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "description": "Every 4xx and 5xx answer.",
            "required": ["error"],
            "properties": {
                "error": { "type": "string", "description": "What went wrong, in words a client can act on" },
                "details": { "description": "More about it (field, limit, lock end)" },
                "message": { "type": "string", "description": "A longer explanation (rate limits)" },
                "retry_after": { "type": "integer", "description": "Seconds to wait (rate limits)" },
                "locked_until": { "type": "string", "format": "date-time", "description": "When a locked account opens again" },
            },
        }),
    );
    let tags: Vec<Value> = [
        "enhance",
        "auth",
        "history",
        "feedback",
        "techniques",
        "library",
        "search",
        "developer",
        "admin",
        "health",
    ]
    .iter()
    .map(|t| json!({ "name": t }))
    .collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "BetterPrompts API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Prompt enhancement: classify, pick techniques, write the enhanced prompt; \
                history, library, feedback, developer and admin endpoints. Errors are \
                `{\"error\", \"details\"}` bodies.",
        },
        "servers": [{ "url": "/" }],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT or bp_ API key" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": "auth_token" },
            },
        },
    })
}

fn operation(e: &Endpoint, generator: &mut SchemaGenerator) -> Value {
    let mut parameters: Vec<Value> = path_parameters(e.path);
    if let Some(query) = e.query {
        let schema = query(generator);
        parameters.extend(query_parameters(schema, generator));
    }
    let mut op = json!({
        "tags": [e.tag],
        "summary": e.summary,
        "operationId": operation_id(e),
        "responses": responses(e, generator),
    });
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = e.body {
        op["requestBody"] = json!({
            "required": !e.body_optional,
            "content": { "application/json": { "schema": body(generator).to_value() } },
        });
    }
    let session = [json!({ "bearer": [] }), json!({ "cookie": [] })];
    let security: Vec<Value> = match e.access {
        Access::Public => vec![],
        Access::Optional => vec![
            json!({}),
            json!({ "bearer": [] }),
            json!({ "apiKey": [] }),
            json!({ "cookie": [] }),
        ],
        Access::SessionOrKey => vec![session[0].clone(), session[1].clone(), json!({ "apiKey": [] })],
        Access::Session | Access::Developer | Access::Admin => session.to_vec(),
    };
    if !security.is_empty() {
        op["security"] = Value::Array(security);
    }
    op
}

fn operation_id(e: &Endpoint) -> String {
    let mut id = e.verb.as_str().to_owned();
    for part in e.path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.push_str(&part.trim_matches(|c| c == '{' || c == '}').replace('-', "_"));
    }
    id
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(|name| {
            let schema = match name {
                "id" | "saved_id" => json!({ "type": "string", "format": "uuid" }),
                _ => json!({ "type": "string" }),
            };
            json!({ "name": name, "in": "path", "required": true, "schema": schema })
        })
        .collect()
}

/// One parameter per property of a query type's schema (a `$ref` to its
/// definition, which is read and then dropped from the components).
fn query_parameters(schema: schemars::Schema, generator: &mut SchemaGenerator) -> Vec<Value> {
    let value = schema.to_value();
    let resolved = match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default().to_owned();
            generator.definitions_mut().remove(&name).unwrap_or(Value::Null)
        }
        None => value,
    };
    let required: Vec<&str> = resolved["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    resolved["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, schema)| {
                    let mut schema = schema.clone();
                    let description = schema.as_object_mut().and_then(|s| s.remove("description"));
                    let mut p = json!({ "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema });
                    if let Some(d) = description {
                        p["description"] = d;
                    }
                    p
                })
                .collect()
        })
        .unwrap_or_default()
}

fn responses(e: &Endpoint, generator: &mut SchemaGenerator) -> Value {
    let error = |description: &str| {
        json!({ "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let mut r = Map::new();
    let description = if e.status == 201 { "Created" } else { "OK" };
    let success = match e.success {
        Some(Success::Json(schema)) => json!({ "description": description,
            "content": { "application/json": { "schema": schema(generator).to_value() } } }),
        Some(Success::Download(types)) => {
            let content: Map<String, Value> = types
                .iter()
                .map(|t| ((*t).to_owned(), json!({ "schema": { "type": "string" } })))
                .collect();
            json!({ "description": description, "content": content })
        }
        None => json!({ "description": description }),
    };
    r.insert(e.status.to_string(), success);
    if e.body.is_some() || e.query.is_some() || e.path.contains('{') {
        r.insert("400".into(), error("Invalid input; nothing was written"));
    }
    if e.access != Access::Public || e.path.starts_with("/auth/") {
        r.insert("401".into(), error("Missing, invalid or expired credentials"));
    }
    if matches!(
        e.access,
        Access::Session | Access::SessionOrKey | Access::Developer | Access::Admin
    ) || e.path.starts_with("/auth/")
    {
        r.insert(
            "403".into(),
            error(
                "Not allowed (role, scope, API key on a session-only route, or a locked or inactive account)",
            ),
        );
    }
    if e.path.contains('{') || e.body.is_some() {
        r.insert(
            "404".into(),
            error("No such resource (in the path or named in the body), or not the caller's"),
        );
    }
    r.insert(
        "408".into(),
        error("The request took longer than the server's limit"),
    );
    if matches!(e.verb, Verb::Post | Verb::Put) {
        r.insert("409".into(), error("Conflicts with an existing item"));
    }
    if e.body.is_some() {
        r.insert("413".into(), error("Body too large"));
        r.insert("415".into(), error("Body is not application/json"));
    }
    if e.limited {
        r.insert("429".into(), error("Rate limit exceeded; see Retry-After"));
    }
    r.insert(
        "503".into(),
        error("A dependency (the database, the engine) is unavailable; retry after Retry-After seconds"),
    );
    Value::Object(r)
}
