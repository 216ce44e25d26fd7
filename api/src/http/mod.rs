//! The REST API (JSON) under `/api`, one router per module merged here.

pub mod auth;
pub mod error;
mod extract;
mod files;
mod indicators;
pub use files::attachment;
mod instances;
pub mod openapi;
mod ops;
mod processes;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::runtime::Runtime;

/// The most a request body may hold, except where files are uploaded.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The most a posted process definition may hold: a process of about 60,000 steps.
pub const DEFINITION_LIMIT: usize = 8 * 1024 * 1024;

/// The most a request that uploads files may hold: a file of the blob store's largest size,
/// and the rest of its form.
pub fn upload_limit(rt: &Runtime) -> usize {
    rt.files().map_or(BODY_LIMIT, |b| usize::try_from(b.max_size()).unwrap_or(usize::MAX).saturating_add(BODY_LIMIT))
}

/// The whole HTTP application.
pub fn app(rt: Arc<Runtime>) -> Router {
    let uploads = upload_limit(&rt);
    Router::new()
        .merge(processes::router())
        .merge(instances::router())
        .merge(indicators::router())
        .merge(tasks::router())
        .merge(openapi::router())
        .merge(ops::router())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(processes::deploy_router().layer(RequestBodyLimitLayer::new(DEFINITION_LIMIT)))
        .merge(files::router(uploads))
        .merge(crate::web::router(rt.clone(), uploads))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        // Per route (so the matched template is known), outside the timeout and the body limit.
        .layer(axum::middleware::from_fn_with_state(rt.clone(), ops::timed))
        // Outermost, so that timeouts and the body limit are answered in JSON under /api/ too.
        .layer(axum::middleware::from_fn(extract::json_refusals))
        .with_state(rt)
}
