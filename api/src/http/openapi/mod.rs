//! `GET /api/openapi.json`: the OpenAPI document of the REST API, generated ([`ApiDoc`]) from
//! the handlers' `#[utoipa::path]` annotations and the types they read and answer. Each
//! handler names every status it sends: 400, 413 and 415 from the body and path extractors
//! (`extract.rs`), 401 and 403 from the callers (`auth.rs`), the rest from the application's
//! refusals (`error.rs`); each refusal is the one `Error` body.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToResponse};

pub mod schemas;

pub use schemas::*;

use super::error::ErrorBody;
use super::extract::Json;
use crate::runtime::Runtime;

pub fn router() -> Router<Arc<Runtime>> {
    Router::new().route("/api/openapi.json", get(openapi))
}

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// The REST API's operations, the types they read and answer, and the bearer token they take.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Trámite API",
        description = "Processes, instances, task inboxes and SLA health. Authenticate with \
                       `Authorization: Bearer <token>` (`tramite user add`)."
    ),
    paths(
        super::processes::list_processes,
        super::processes::deploy,
        super::processes::process_detail,
        super::processes::start,
        super::indicators::indicators,
        super::indicators::cases,
        super::instances::list_instances,
        super::files::upload,
        super::files::download,
        super::instances::instance,
        super::instances::history,
        super::instances::messages,
        super::instances::cancel,
        super::instances::retry,
        super::instances::incidents,
        super::tasks::inbox,
        super::tasks::task,
        super::tasks::claim,
        super::tasks::unclaim,
        super::tasks::complete,
        super::instances::sla_report,
        openapi,
    ),
    components(
        schemas(ErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable
        )
    ),
    modifiers(&BearerToken),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The `bearer` scheme every operation but this document's requires.
#[derive(Debug)]
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("an API token (`tramite user add`, `tramite user token`)"))
            .build();
        doc.components.get_or_insert_with(Default::default).add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "document",
    security(),
    responses((status = 200, description = "OpenAPI 3.1", body = Object))
)]
pub(super) async fn openapi() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOCUMENT)
}

/// The reusable refusals: each a status's `Error` body and what it means, named on the
/// handlers alone (`responses(Unauthorized)`) or in a set of them (`ReadRefusals`).
macro_rules! refusals {
    ($($status:literal $name:ident = $description:literal;)*) => {$(
        #[doc = $description]
        #[derive(Debug)]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), refusal($description))
            }
        }

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([($status.to_string(), Ref::from_response_name(stringify!($name)).into())])
            }
        }
    )*};
}

refusals! {
    400 BadRequest = "bad request: a body that is not JSON (`malformed_json`), a path or header that does not read (`invalid_path`, `bad_request`), an upload that could not be read (`upload_failed`)";
    401 Unauthorized = "no, unknown, revoked or expired token, or a disabled user (`unauthorized`, `token_revoked`, `token_expired`, `user_disabled`)";
    403 Forbidden = "not allowed for your roles (`forbidden`, `admin_only`)";
    404 NotFound = "not found (`not_found`)";
    409 Conflict = "conflict: the task or instance changed, or another request is changing it (`busy`)";
    413 PayloadTooLarge = "the body or the uploaded file is larger than the server takes (`payload_too_large`, `file_too_large`)";
    415 UnsupportedMediaType = "the body is not of a type this operation reads (`unsupported_media_type`)";
    422 Unprocessable = "invalid data, body, query or definition; `details` names each field (`fields`) or file:line:column (`diagnostics`)";
}

/// Sets of refusals that operations of one kind share.
macro_rules! refusal_sets {
    ($($(#[$doc:meta])* $name:ident = [$($part:ident),*];)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let mut all = BTreeMap::new();
                $(all.extend(<$part as IntoResponses>::responses());)*
                all
            }
        }
    )*};
}

refusal_sets! {
    /// Reading what the path names: 400 (a path that does not read), 401, 403, 404.
    ReadRefusals = [BadRequest, Unauthorized, Forbidden, NotFound];
    /// Acting on what the path names: those of reading, 409 (it changed), 413 (a body over the
    /// limit, read or not).
    ActRefusals = [ReadRefusals, Conflict, PayloadTooLarge];
    /// Acting with a JSON body: those of acting, 415 (not JSON), 422 (wrong shape or data).
    AnswerRefusals = [ActRefusals, UnsupportedMediaType, Unprocessable];
}

fn refusal(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use serde_json::Value;

    use super::*;

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

    fn document() -> Value {
        serde_json::to_value(&*DOCUMENT).unwrap_or_default()
    }

    /// `(method, path)` of every `.route("/api/…", method(handler)…)` in the server's sources.
    fn routed(dir: &Path, out: &mut BTreeSet<(String, String)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                routed(&path, out);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            for (at, _) in text.match_indices(".route(") {
                let args = text[at + ".route(".len()..].trim_start();
                let Some(route) = args.strip_prefix('"').and_then(|a| a.split('"').next()) else { continue };
                if !route.starts_with("/api/") {
                    continue;
                }
                let path_end = route.len() + 2;
                // The route's arguments: up to the parenthesis that closes `.route(`.
                let mut depth = 1;
                let end = args.char_indices().find_map(|(i, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    (depth == 0).then_some(i)
                });
                let args = &args[path_end..end.unwrap_or(args.len())];
                for m in METHODS {
                    let called = args
                        .match_indices(&format!("{m}("))
                        .any(|(i, _)| i == 0 || !args[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                    if called {
                        out.insert((m.to_string(), route.to_string()));
                    }
                }
            }
        }
    }

    #[test]
    fn every_api_route_is_in_the_document_and_every_operation_is_routed() {
        let mut routes = BTreeSet::new();
        routed(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut routes);
        assert!(routes.contains(&("post".to_string(), "/api/files".to_string())), "{routes:?}");
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for m in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                documented.insert((m.to_string(), path.clone()));
            }
        }
        let missing: Vec<_> = routes.difference(&documented).collect();
        assert!(missing.is_empty(), "routed but not in the API document: {missing:?}");
        let stale: Vec<_> = documented.difference(&routes).collect();
        assert!(stale.is_empty(), "in the API document but not routed: {stale:?}");
    }

    /// The response a `$ref` names, or the response itself.
    fn resolved<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
        match response["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/responses/")) {
            Some(name) => &doc["components"]["responses"][name],
            None => response,
        }
    }

    #[test]
    fn every_operation_takes_the_token_and_refuses_with_the_error_body() {
        let doc = document();
        assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        let error = &doc["components"]["schemas"]["Error"];
        assert_eq!(error["required"], serde_json::json!(["error"]), "{error}");
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten().filter(|(m, _)| METHODS.contains(&m.as_str())) {
                let what = format!("{method} {path}");
                let responses = op["responses"].as_object().cloned().unwrap_or_default();
                if path == "/api/openapi.json" {
                    assert_eq!(op["security"], serde_json::json!([]), "{what} takes no token");
                    continue;
                }
                assert!(op.get("security").is_none(), "{what} takes the document's bearer token");
                assert!(responses.contains_key("401"), "{what} answers 401");
                for (status, response) in &responses {
                    let content = &resolved(&doc, response)["content"];
                    if status.starts_with('4') {
                        let schema = &content["application/json"]["schema"]["$ref"];
                        assert_eq!(schema, "#/components/schemas/Error", "{what} {status}");
                    } else {
                        let schemas =
                            content.as_object().map_or(0, |c| c.values().filter(|m| m["schema"].is_object()).count());
                        assert!(schemas > 0, "{what} {status} has a schema");
                    }
                }
            }
        }
    }

    #[test]
    fn the_error_body_is_the_error_schema() {
        let body = serde_json::to_value(ErrorBody {
            error: super::super::error::ErrorDetail { code: "not_found", message: "no".into(), details: Value::Null },
        })
        .unwrap_or_default();
        let doc = document();
        let detail = &doc["components"]["schemas"]["Error"]["properties"]["error"];
        let keys: BTreeSet<&str> = body["error"].as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
        let described: BTreeSet<&str> =
            detail["properties"].as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, described, "{detail}");
    }

    #[test]
    fn instants_are_date_times_and_bounds_are_the_servers() {
        let doc = document();
        let view = &doc["components"]["schemas"]["InstanceView"]["properties"];
        assert_eq!(view["started_at"], serde_json::json!({ "type": "string", "format": "date-time" }));
        let list = doc["paths"]["/api/instances"]["get"]["parameters"].as_array().cloned().unwrap_or_default();
        let limit = list.iter().find(|p| p["name"] == "limit").map(|p| p["schema"]["maximum"].clone());
        assert_eq!(limit, Some(crate::app::MAX_PAGE.into()));
    }
}
