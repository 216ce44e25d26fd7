//! The REST API (JSON) under `/api`, one router per module merged here.

pub mod auth;
pub mod error;
mod extract;
mod instances;
mod openapi;
mod ops;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::runtime::Runtime;

/// The whole HTTP application.
pub fn app(rt: Arc<Runtime>) -> Router {
    Router::new()
        .merge(instances::router())
        .merge(tasks::router())
        .merge(openapi::router())
        .merge(ops::router())
        .merge(crate::web::router(rt.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(RequestBodyLimitLayer::new(1024 * 1024))
        // Per route (so the matched template is known), outside the timeout and the body limit.
        .layer(axum::middleware::from_fn_with_state(rt.clone(), ops::timed))
        // Outermost, so that timeouts and the body limit are answered in JSON under /api/ too.
        .layer(axum::middleware::from_fn(extract::json_refusals))
        .with_state(rt)
}
