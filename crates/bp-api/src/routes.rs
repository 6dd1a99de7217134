//! The route table. Each controller module declares its own endpoints in a
//! `routes` function (path, method, who may call it, body, query, success
//! body and status, rate limit); [`table`] is the list of those modules.
//! [`crate::startup::router`] mounts the handlers from the table and
//! [`crate::openapi`] writes the OpenAPI document from the same table, so
//! the document cannot list a route that is not served, miss one that is,
//! or describe a body other than the handler's own type. The access column
//! is enforced by a route layer ([`crate::auth::access`]), not only
//! documented.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::controllers::{account, admin, auth, dev, enhance, feedback, health, history, library, search};
use crate::state::AppState;

/// HTTP methods the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Delete => MethodFilter::DELETE,
        }
    }

    /// Lowercase name (OpenAPI operation key).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Delete => "delete",
        }
    }
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; credentials are ignored.
    Public,
    /// Anyone; a credential, when sent, must be valid (401 otherwise).
    Optional,
    /// A login session (access token or cookie); API keys get 403.
    Session,
    /// A login session or an API key with the right scope.
    SessionOrKey,
    /// A session of a `developer` or `admin`.
    Developer,
    /// A session of an `admin`; every call is audited.
    Admin,
}

/// Builds the schema of a body, query or response type.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What a successful call answers.
#[derive(Debug, Clone, Copy)]
pub enum Success {
    /// A JSON body of this schema.
    Json(SchemaFn),
    /// A streamed download of these media types (CSV, NDJSON, ...).
    Download(&'static [&'static str]),
}

/// One endpoint's description.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Method.
    pub verb: Verb,
    /// Path under `/api/v1`, with `{name}` parameters.
    pub path: &'static str,
    /// OpenAPI tag (the area).
    pub tag: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The JSON body type, if it takes one.
    pub body: Option<SchemaFn>,
    /// Whether the body may be left out.
    pub body_optional: bool,
    /// The query-string type, if it takes one.
    pub query: Option<SchemaFn>,
    /// The success body; `None` until declared (a test requires it).
    pub success: Option<Success>,
    /// Success status.
    pub status: u16,
    /// Rate limited (429 with `Retry-After` when over).
    pub limited: bool,
    /// The handler makes the rate-limit check itself, through
    /// [`crate::limits::PendingLimit`] (to join it with its own first round
    /// trip); the middleware checks after it when the handler did not.
    pub limit_in_handler: bool,
    /// Takes the larger body limit of `/enhance/batch`.
    pub large_body: bool,
    /// The audit action a refused call is recorded under (admin routes).
    pub audit: Option<&'static str>,
}

impl Endpoint {
    /// An endpoint that answers 200 with no body type declared yet.
    pub fn new(
        verb: Verb,
        path: &'static str,
        tag: &'static str,
        access: Access,
        summary: &'static str,
    ) -> Self {
        Self {
            verb,
            path,
            tag,
            summary,
            access,
            body: None,
            body_optional: false,
            query: None,
            success: None,
            status: 200,
            limited: false,
            limit_in_handler: false,
            large_body: false,
            audit: None,
        }
    }

    /// Records refused calls in the audit log under `action`.
    pub fn audited(mut self, action: &'static str) -> Self {
        self.audit = Some(action);
        self
    }

    /// An admin endpoint (tag `admin`), whose refused calls are audited
    /// under `action`.
    pub fn admin(verb: Verb, path: &'static str, summary: &'static str, action: &'static str) -> Self {
        Self::new(verb, path, "admin", Access::Admin, summary).audited(action)
    }

    /// Takes a JSON body of type `T`.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_of::<T>);
        self
    }

    /// Takes an optional JSON body of type `T`.
    pub fn optional_body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_of::<T>);
        self.body_optional = true;
        self
    }

    /// Takes a query string of type `T`.
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_of::<T>);
        self
    }

    /// Answers a JSON body of type `T`.
    pub fn returns<T: JsonSchema>(mut self) -> Self {
        self.success = Some(Success::Json(schema_of::<T>));
        self
    }

    /// Answers a streamed download of one of `media_types`.
    pub fn downloads(mut self, media_types: &'static [&'static str]) -> Self {
        self.success = Some(Success::Download(media_types));
        self
    }

    /// Answers 201 Created.
    pub fn created(mut self) -> Self {
        self.status = 201;
        self
    }

    /// Counts against the caller's rate limit.
    pub fn limited(mut self) -> Self {
        self.limited = true;
        self
    }

    /// Counts against the caller's rate limit, checked by the handler
    /// (see [`Endpoint::limit_in_handler`]).
    pub fn limited_in_handler(mut self) -> Self {
        self.limited = true;
        self.limit_in_handler = true;
        self
    }

    /// Accepts bodies up to [`crate::startup::BATCH_BODY_LIMIT_BYTES`].
    pub fn large_body(mut self) -> Self {
        self.large_body = true;
        self
    }
}

/// The endpoints and their handlers, in four routers layered apart: rate
/// limited, rate limited by the handler, rate limited with the large body
/// limit, and the rest.
#[derive(Default)]
pub struct Table {
    /// Rate-limited handlers.
    pub limited: Router<AppState>,
    /// Handlers that make their own rate-limit check.
    pub limited_in_handler: Router<AppState>,
    /// Rate-limited handlers with the large body limit.
    pub large: Router<AppState>,
    /// Everything else.
    pub open: Router<AppState>,
    endpoints: Vec<Endpoint>,
}

impl Table {
    /// Mounts `handler` for `endpoint` and records its description.
    pub fn add<H, T>(&mut self, endpoint: Endpoint, handler: H) -> &mut Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        // The large-body router checks limits up front and hands no
        // PendingLimit: a handler that wants one would fail every call.
        debug_assert!(
            !(endpoint.large_body && endpoint.limit_in_handler),
            "{}: a large-body route cannot check its limit in the handler",
            endpoint.path
        );
        let (access, audit) = (endpoint.access, endpoint.audit);
        let route =
            on(endpoint.verb.filter(), handler).route_layer(axum::middleware::from_fn(move |req, next| {
                crate::auth::access::enforce(access, audit, req, next)
            }));
        let router = match (endpoint.limited, endpoint.large_body, endpoint.limit_in_handler) {
            (true, true, _) => &mut self.large,
            (true, false, true) => &mut self.limited_in_handler,
            (true, false, false) => &mut self.limited,
            (false, _, _) => &mut self.open,
        };
        *router = std::mem::take(router).route(endpoint.path, route);
        self.endpoints.push(endpoint);
        self
    }

    /// Every endpoint's description, in declaration order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }
}

/// The table: every controller's routes.
pub fn table() -> Table {
    let mut table = Table::default();
    for declare in [
        health::routes,
        enhance::routes,
        auth::routes,
        account::routes,
        history::routes,
        feedback::routes,
        library::routes,
        search::routes,
        dev::routes,
        admin::routes,
    ] {
        declare(&mut table);
    }
    table
}
