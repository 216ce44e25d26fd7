//! A process's indicators: their values per period and group, and the cases behind a value.
//! Every rule is the application layer's (`app/indicators.rs`); this module speaks JSON.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use crate::app;
use crate::runtime::Runtime;

pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/api/processes/{process}/indicators", get(indicators))
        .route("/api/processes/{process}/indicators/{indicator}/cases", get(cases))
}

#[derive(Debug, Deserialize)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

async fn indicators(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(process): Path<String>,
    Query(q): Query<Range>,
) -> Result<Json<Value>, ApiError> {
    let list = app::indicators(&rt, &actor, &process, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(Json(json!({ "process": process, "indicators": list })))
}

#[derive(Debug, Deserialize)]
struct Bar {
    period: Option<String>,
    group: Option<String>,
}

async fn cases(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path((process, indicator)): Path<(String, String)>,
    Query(q): Query<Bar>,
) -> Result<Json<Value>, ApiError> {
    let (period, group) = (q.period.unwrap_or_default(), q.group.unwrap_or_default());
    let list = app::indicator_cases(&rt, &actor, &process, &indicator, &period, &group).await?;
    Ok(Json(json!({ "cases": list })))
}
