//! Operating the server: `/healthz` (the process answers), `/readyz` (the store answers a query
//! and the definition tree is deployed), `/metrics` (Prometheus) for admins, and without a token
//! for direct requests from loopback or a `serve --metrics-from` address; and [`timed`], which
//! times every request by the route template it matched.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use crate::runtime::Runtime;

/// How long `/readyz` waits for the store.
const READY_WAIT: Duration = Duration::from_secs(2);

pub fn router() -> Router<Arc<Runtime>> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The process is alive and answering.
async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// Ready to serve: the store answers a query (within [`READY_WAIT`]) and the definitions are
/// loaded. 503 otherwise, saying which check failed.
async fn readyz(State(rt): State<Arc<Runtime>>) -> Response {
    let store = match tokio::time::timeout(READY_WAIT, rt.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            "unreachable"
        }
        Err(_) => "timeout",
    };
    let definitions = if rt.definitions_loaded() { "ok" } else { "not_loaded" };
    let ready = store == "ok" && definitions == "ok";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "store": store, "definitions": definitions },
    });
    (status, axum::Json(body)).into_response()
}

/// The metrics, for an admin's token or a direct request from an allowed address.
async fn metrics(State(rt): State<Arc<Runtime>>, req: Request) -> Result<Response, ApiError> {
    if !from_allowed_address(&rt, &req) {
        let (mut parts, _) = req.into_parts();
        let Caller(actor) = Caller::from_request_parts(&mut parts, &rt).await?;
        if !actor.admin {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "admin_only", "only admins may read the metrics"));
        }
    }
    let backlog = rt.store.outbox_backlog().await?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], rt.metrics.render(backlog)).into_response())
}

/// A request straight from loopback or a `--metrics-from` address. A request that came through
/// a proxy (it carries `X-Forwarded-For` or `Forwarded`) does not count: its peer is the proxy,
/// which may be on loopback while the client is anywhere.
fn from_allowed_address(rt: &Runtime, req: &Request) -> bool {
    let proxied = req.headers().contains_key("x-forwarded-for") || req.headers().contains_key(header::FORWARDED);
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical());
    !proxied && peer.is_some_and(|ip| ip.is_loopback() || rt.metrics_from.contains(&ip))
}

/// Times a request and counts it under the route template axum matched (`unmatched` for none),
/// so a path with ids in it does not make a series of its own.
pub async fn timed(State(rt): State<Arc<Runtime>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = match *req.method() {
        Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::OPTIONS => {
            req.method().as_str().to_string()
        }
        _ => "other".to_string(),
    };
    let started = Instant::now();
    let res = next.run(req).await;
    rt.metrics.http_request(&method, &route, res.status().as_u16(), started.elapsed());
    res
}
