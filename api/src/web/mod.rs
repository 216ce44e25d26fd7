//! The browser UI served by `tramite serve`: sign-in, the task inbox, task and instance pages,
//! and the admin SLA dashboard with CSV/XLSX exports. Server-rendered with askama (templates in
//! `api/templates/web/`, checked at compile time), Spanish by default with English available,
//! and htmx (vendored in `api/static/`, served from the binary) for small enhancements only:
//! every page works without JavaScript.
//!
//! Errors are [`error::WebError`], rendered as HTML pages; runtime and store errors are mapped
//! into it and internal causes are logged, never shown.

mod auth;
mod cases;
mod chart;
mod dashboard;
mod error;
mod export;
mod fields;
mod i18n;
mod inbox;
mod indicators;
mod instance;
mod oidc;
mod page;
mod posted;
mod process;
mod public;
mod session;
mod start;
mod task;
mod timeline;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::runtime::Runtime;

/// The largest body a public page takes (a form without files).
pub const PUBLIC_BODY_LIMIT: usize = 64 * 1024;

/// The web routes, with CSRF checks on every POST and security headers on every page. Forms
/// that may carry files take bodies of up to `uploads` bytes; the rest [`crate::http::BODY_LIMIT`].
pub fn router(rt: Arc<Runtime>, uploads: usize) -> Router<Arc<Runtime>> {
    let with_files = |r: axum::routing::MethodRouter<Arc<Runtime>>| {
        r.layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(uploads))
            .layer::<_, std::convert::Infallible>(RequestBodyLimitLayer::new(uploads))
    };
    // Pages for people without an account: no session, no CSRF token (a link is its own
    // capability; the public form starts only a new case), small bodies.
    let public = Router::new()
        .route("/p/t/{link}", get(public::task_form).post(public::task_submit))
        .route("/p/{process}", get(public::start_form).post(public::start_submit))
        .layer(DefaultBodyLimit::max(PUBLIC_BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(PUBLIC_BODY_LIMIT))
        .route_layer(axum::middleware::map_response(security_headers));
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/auth/oidc/start", get(oidc::start))
        .route("/auth/oidc/callback", get(oidc::callback))
        .route("/inbox", get(inbox::page))
        .route("/new", get(start::list))
        .route("/cases", get(cases::page))
        .route("/processes", get(process::list))
        .route("/processes/{id}", get(process::page))
        .route("/indicators/{process}", get(indicators::page))
        .route("/indicators/{process}/{indicator}", get(indicators::cases))
        .route("/cases.csv", get(cases::csv))
        .route("/instances/{id}/files/{sha256}", get(instance::file))
        .route("/tasks/{id}/claim", post(inbox::claim))
        .route("/tasks/{id}/release", post(inbox::release))
        .route("/instances/{id}", get(instance::page))
        .route("/instances/{id}/retry", post(instance::retry))
        .route("/admin", get(dashboard::page))
        .route("/admin/export/{file}", get(export::download))
        .route("/admin/users", get(users::page).post(users::add))
        .route("/admin/users/{name}", post(users::update))
        .layer(RequestBodyLimitLayer::new(crate::http::BODY_LIMIT))
        .route("/new/{process}", with_files(get(start::form).post(start::submit)))
        .route("/tasks/{id}", with_files(get(task::page).post(task::submit)))
        .route_layer(axum::middleware::from_fn_with_state(rt, session::csrf_guard))
        .route_layer(axum::middleware::from_fn(session::remember_lang))
        .route_layer(axum::middleware::map_response(security_headers))
        .merge(public)
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_bytes!("../../static/app.css")) }),
        )
        .route(
            "/static/htmx.min.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_bytes!("../../static/htmx.min.js")) }),
        )
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// Pages load nothing from elsewhere, run no inline script and are never framed.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (k, v) in set {
        if !h.contains_key(&k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    }
    res
}
