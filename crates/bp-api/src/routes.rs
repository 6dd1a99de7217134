//! The route table: every `/api/v1` endpoint is declared once here, with
//! its handler and its description (who may call it, body and query types,
//! success status). [`crate::router`] mounts the handlers from this table and
//! [`crate::openapi`] writes the OpenAPI document from the same table, so the
//! document cannot list a route that is not served or miss one that is.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::AppState;

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

/// Builds the schema of a body or query type.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
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
    /// Success status.
    pub status: u16,
    /// Rate limited (429 with `Retry-After` when over).
    pub limited: bool,
}

impl Endpoint {
    fn new(verb: Verb, path: &'static str, tag: &'static str, access: Access, summary: &'static str) -> Self {
        Self {
            verb,
            path,
            tag,
            summary,
            access,
            body: None,
            body_optional: false,
            query: None,
            status: 200,
            limited: false,
        }
    }

    fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_of::<T>);
        self
    }

    fn optional_body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_of::<T>);
        self.body_optional = true;
        self
    }

    fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_of::<T>);
        self
    }

    fn created(mut self) -> Self {
        self.status = 201;
        self
    }
}

/// A group of endpoints mounted together (and layered together).
pub struct Group {
    /// The handlers.
    pub router: Router<AppState>,
    /// Their descriptions.
    pub endpoints: Vec<Endpoint>,
    limited: bool,
}

impl Group {
    fn new(limited: bool) -> Self {
        Self {
            router: Router::new(),
            endpoints: Vec::new(),
            limited,
        }
    }

    fn add<H, T>(mut self, mut endpoint: Endpoint, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        endpoint.limited = self.limited;
        self.router = self
            .router
            .route(endpoint.path, on(endpoint.verb.filter(), handler));
        self.endpoints.push(endpoint);
        self
    }
}

/// The endpoints, in three groups: rate limited, the batch route (rate
/// limited, with a larger body limit) and the rest.
pub struct Table {
    /// `/enhance`, `/analyze` and the auth routes that create sessions.
    pub limited: Group,
    /// `/enhance/batch`.
    pub batch: Group,
    /// Everything else.
    pub open: Group,
}

impl Table {
    /// Every endpoint's description.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.limited
            .endpoints
            .iter()
            .chain(&self.batch.endpoints)
            .chain(&self.open.endpoints)
    }
}

/// The table.
pub fn table() -> Table {
    use crate::controllers::{
        admin, auth as a, dev, enhance as e, feedback as f, health, history as h, library as l, search as s,
    };
    use Access::*;
    use Verb::*;
    let ep = Endpoint::new;

    let limited = Group::new(true)
        .add(
            ep(Post, "/enhance", "enhance", Optional, "Enhance a prompt").body::<e::EnhanceBody>(),
            e::enhance,
        )
        .add(
            ep(
                Post,
                "/analyze",
                "enhance",
                Optional,
                "Classify a prompt without enhancing it",
            )
            .body::<e::AnalyzeBody>(),
            e::analyze,
        )
        .add(
            ep(
                Post,
                "/auth/register",
                "auth",
                Public,
                "Create an account and sign in",
            )
            .body::<a::RegisterBody>()
            .created(),
            a::register,
        )
        .add(
            ep(
                Post,
                "/auth/login",
                "auth",
                Public,
                "Sign in (lockout after 5 failures)",
            )
            .body::<a::LoginBody>(),
            a::login,
        )
        .add(
            ep(
                Post,
                "/auth/refresh",
                "auth",
                Public,
                "Rotate the refresh token (body or cookie)",
            )
            .optional_body::<a::RefreshBody>(),
            a::refresh,
        )
        .add(
            ep(
                Post,
                "/auth/verify-email",
                "auth",
                Public,
                "Verify an email address",
            )
            .body::<a::VerifyBody>(),
            a::verify_email,
        )
        .add(
            ep(
                Post,
                "/auth/resend-verification",
                "auth",
                Public,
                "Send the verification mail again",
            )
            .body::<a::ResendBody>(),
            a::resend_verification,
        );

    let batch = Group::new(true).add(
        ep(
            Post,
            "/enhance/batch",
            "enhance",
            SessionOrKey,
            "Enhance up to 100 prompts",
        )
        .body::<e::BatchBody>(),
        e::enhance_batch,
    );

    let open = Group::new(false)
        .add(ep(Get, "/health", "health", Public, "Liveness"), health::health)
        .add(
            ep(Get, "/ready", "health", Public, "Readiness (database, Redis)"),
            health::ready,
        )
        .add(
            ep(Post, "/auth/logout", "auth", Session, "End the session").optional_body::<a::RefreshBody>(),
            a::logout,
        )
        .add(
            ep(Get, "/auth/profile", "auth", Session, "The caller's profile"),
            a::profile,
        )
        .add(
            ep(Put, "/auth/profile", "auth", Session, "Change the profile").body::<a::ProfileBody>(),
            a::update_profile,
        )
        .add(
            ep(Get, "/auth/me", "auth", Session, "The caller's profile"),
            a::profile,
        )
        .add(
            ep(
                Post,
                "/auth/change-password",
                "auth",
                Session,
                "Change the password (other sessions end)",
            )
            .body::<a::ChangePasswordBody>(),
            a::change_password,
        )
        .add(
            ep(
                Get,
                "/techniques",
                "techniques",
                Public,
                "Techniques with measured effectiveness",
            ),
            e::list_techniques,
        )
        .add(
            ep(
                Post,
                "/techniques/select",
                "techniques",
                Optional,
                "Pick techniques for a prompt",
            )
            .body::<e::SelectBody>(),
            e::select,
        )
        .add(
            ep(
                Post,
                "/prompts/{id}/rerun",
                "enhance",
                SessionOrKey,
                "Enhance a history item again",
            ),
            e::rerun,
        )
        .add(
            ep(
                Get,
                "/history",
                "history",
                SessionOrKey,
                "The caller's enhancements",
            )
            .query::<h::ListQuery>(),
            h::list,
        )
        .add(
            ep(
                Get,
                "/prompts/history",
                "history",
                SessionOrKey,
                "Alias of /history",
            )
            .query::<h::ListQuery>(),
            h::list,
        )
        .add(
            ep(
                Get,
                "/history/stats",
                "history",
                SessionOrKey,
                "Totals by intent and technique",
            )
            .query::<h::StatsQuery>(),
            h::stats,
        )
        .add(
            ep(
                Get,
                "/history/export",
                "history",
                SessionOrKey,
                "Stream the history as CSV or NDJSON",
            )
            .query::<h::ExportQuery>(),
            h::export,
        )
        .add(
            ep(Get, "/history/{id}", "history", SessionOrKey, "One enhancement"),
            h::get,
        )
        .add(
            ep(
                Delete,
                "/history/{id}",
                "history",
                SessionOrKey,
                "Delete an enhancement",
            ),
            h::delete,
        )
        .add(
            ep(
                Get,
                "/prompts/{id}",
                "history",
                SessionOrKey,
                "Alias of /history/{id}",
            ),
            h::get,
        )
        .add(
            ep(
                Put,
                "/history/{id}/favorite",
                "history",
                SessionOrKey,
                "Mark or unmark a favourite",
            )
            .optional_body::<h::FavoriteBody>(),
            h::favorite,
        )
        .add(
            ep(Post, "/feedback", "feedback", Session, "Rate an enhancement").body::<f::FeedbackBody>(),
            f::submit,
        )
        .add(
            ep(
                Post,
                "/feedback/effectiveness",
                "feedback",
                Session,
                "Technique effectiveness",
            )
            .body::<f::EffectivenessBody>(),
            f::effectiveness,
        )
        .add(
            ep(
                Get,
                "/feedback/{id}",
                "feedback",
                Session,
                "The feedback on an enhancement",
            ),
            f::get,
        )
        .add(
            ep(
                Post,
                "/dev/api-keys",
                "developer",
                Developer,
                "Create an API key (shown once)",
            )
            .body::<dev::CreateKeyBody>()
            .created(),
            dev::create,
        )
        .add(
            ep(
                Get,
                "/dev/api-keys",
                "developer",
                Developer,
                "The caller's API keys",
            ),
            dev::list,
        )
        .add(
            ep(
                Delete,
                "/dev/api-keys/{id}",
                "developer",
                Developer,
                "Revoke an API key",
            ),
            dev::revoke,
        )
        .add(
            ep(
                Post,
                "/dev/api-keys/{id}/rotate",
                "developer",
                Developer,
                "Rotate an API key: a new key now, the old one valid for a grace period",
            )
            .body::<dev::RotateKeyBody>()
            .created(),
            dev::rotate,
        )
        .add(
            ep(
                Get,
                "/dev/analytics/usage",
                "developer",
                Developer,
                "Requests per endpoint and key",
            )
            .query::<dev::AnalyticsQuery>(),
            dev::usage,
        )
        .add(
            ep(
                Get,
                "/dev/analytics/performance",
                "developer",
                Developer,
                "Latency per endpoint",
            )
            .query::<dev::AnalyticsQuery>(),
            dev::performance,
        )
        .add(
            ep(
                Get,
                "/prompts/saved",
                "library",
                Session,
                "The caller's saved prompts",
            )
            .query::<l::SavedQuery>(),
            l::list_saved,
        )
        .add(
            ep(Post, "/prompts/saved", "library", Session, "Save a prompt")
                .body::<l::SaveBody>()
                .created(),
            l::create_saved,
        )
        .add(
            ep(Get, "/prompts/saved/{id}", "library", Session, "One saved prompt"),
            l::get_saved,
        )
        .add(
            ep(
                Put,
                "/prompts/saved/{id}",
                "library",
                Session,
                "Change or share a saved prompt",
            )
            .body::<l::UpdateSavedBody>(),
            l::update_saved,
        )
        .add(
            ep(
                Delete,
                "/prompts/saved/{id}",
                "library",
                Session,
                "Delete a saved prompt",
            ),
            l::delete_saved,
        )
        .add(
            ep(
                Get,
                "/shared/{token}",
                "library",
                Public,
                "A shared saved prompt or collection",
            ),
            l::shared,
        )
        .add(
            ep(
                Get,
                "/collections",
                "library",
                Session,
                "The caller's collections",
            ),
            l::list_collections,
        )
        .add(
            ep(Post, "/collections", "library", Session, "Create a collection")
                .body::<l::CollectionBody>()
                .created(),
            l::create_collection,
        )
        .add(
            ep(
                Get,
                "/collections/{id}",
                "library",
                Session,
                "A collection and its prompts",
            ),
            l::get_collection,
        )
        .add(
            ep(
                Put,
                "/collections/{id}",
                "library",
                Session,
                "Change, share or reorder a collection",
            )
            .body::<l::CollectionBody>(),
            l::update_collection,
        )
        .add(
            ep(
                Delete,
                "/collections/{id}",
                "library",
                Session,
                "Delete a collection",
            ),
            l::delete_collection,
        )
        .add(
            ep(
                Post,
                "/collections/{id}/prompts/{saved_id}",
                "library",
                Session,
                "Add a saved prompt",
            )
            .created(),
            l::add_member,
        )
        .add(
            ep(
                Delete,
                "/collections/{id}/prompts/{saved_id}",
                "library",
                Session,
                "Remove a saved prompt",
            ),
            l::remove_member,
        )
        .add(
            ep(Get, "/templates", "library", Public, "Active public templates").query::<l::TemplateQuery>(),
            l::list_templates,
        )
        .add(
            ep(Get, "/templates/{slug}", "library", Public, "One template"),
            l::get_template,
        )
        .add(
            ep(Post, "/search", "search", Session, "Semantic search (pgvector)").body::<s::SearchBody>(),
            s::search,
        )
        .add(
            ep(Get, "/admin/users", "admin", Admin, "Accounts").query::<admin::UsersQuery>(),
            admin::list_users,
        )
        .add(
            ep(Get, "/admin/users/{id}", "admin", Admin, "One account"),
            admin::get_user,
        )
        .add(
            ep(
                Put,
                "/admin/users/{id}",
                "admin",
                Admin,
                "Change role, tier, state; unlock",
            )
            .body::<admin::UpdateUserBody>(),
            admin::update_user,
        )
        .add(
            ep(Delete, "/admin/users/{id}", "admin", Admin, "Delete an account"),
            admin::delete_user,
        )
        .add(
            ep(Get, "/admin/metrics", "admin", Admin, "Platform totals"),
            admin::metrics,
        )
        .add(
            ep(Get, "/admin/metrics/usage", "admin", Admin, "Daily rollups").query::<admin::UsageQuery>(),
            admin::usage,
        )
        .add(
            ep(Post, "/admin/cache/clear", "admin", Admin, "Clear cached data")
                .optional_body::<admin::ClearBody>(),
            admin::clear_cache,
        )
        .add(
            ep(
                Post,
                "/admin/cache/invalidate/{id}",
                "admin",
                Admin,
                "Forget a user's cached data",
            ),
            admin::invalidate_user,
        )
        .add(
            ep(Get, "/admin/feature-flags", "admin", Admin, "Feature flags"),
            admin::list_flags,
        )
        .add(
            ep(
                Put,
                "/admin/feature-flags",
                "admin",
                Admin,
                "Create or replace a flag",
            )
            .body::<admin::FlagBody>(),
            admin::set_flag,
        )
        .add(
            ep(
                Post,
                "/admin/feature-flags",
                "admin",
                Admin,
                "Create or replace a flag",
            )
            .body::<admin::FlagBody>(),
            admin::set_flag,
        )
        .add(
            ep(
                Delete,
                "/admin/feature-flags/{name}",
                "admin",
                Admin,
                "Delete a flag",
            ),
            admin::delete_flag,
        )
        .add(
            ep(Get, "/admin/audit", "admin", Admin, "Audit log").query::<admin::AuditQuery>(),
            admin::audit_log,
        );

    Table { limited, batch, open }
}
