//! A process's indicators: their values per period and group, and the cases behind a value.
//! Every rule is the application layer's (`app/indicators.rs`); this module speaks JSON.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use super::openapi::{ReadRefusals, Unprocessable};
use crate::app;
use crate::runtime::Runtime;
use crate::store::MeasureCase;

pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/api/processes/{process}/indicators", get(indicators))
        .route("/api/processes/{process}/indicators/{indicator}/cases", get(cases))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Range {
    /// First period (inclusive); empty: from the first.
    #[param(schema_with = super::openapi::period)]
    from: Option<String>,
    /// Last period (inclusive: `2026-03` takes every day and week key of March); empty: to the
    /// last.
    #[param(schema_with = super::openapi::period)]
    to: Option<String>,
}

/// A process's indicators with their values.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct IndicatorList {
    process: String,
    indicators: Vec<app::IndicatorView>,
}

/// The process's indicators (you hold a role in it; admins: any) with their value per period
/// and group, worked out by the database: count, sum, mean, percentile, or a share from 0 to
/// 1; each value's `n` and whether it meets the target.
#[utoipa::path(
    get,
    path = "/api/processes/{process}/indicators",
    tag = "indicators",
    params(("process" = String, Path, description = "the process's id"), Range),
    responses(
        (status = 200, description = "the indicators, each with its `points`", body = IndicatorList),
        ReadRefusals,
        Unprocessable
    )
)]
pub(super) async fn indicators(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(process): Path<String>,
    Query(q): Query<Range>,
) -> Result<Json<IndicatorList>, ApiError> {
    let indicators = app::indicators(&rt, &actor, &process, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(Json(IndicatorList { process, indicators }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Bar {
    /// The value's period; empty when the indicator has none.
    #[param(schema_with = super::openapi::period)]
    period: Option<String>,
    /// The value's group; empty when not grouped.
    #[param(max_length = 500)]
    group: Option<String>,
}

/// The cases behind a value of an indicator.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct IndicatorCases {
    cases: Vec<MeasureCase>,
}

/// The cases behind one value of an indicator (its period and group), newest first, at most
/// 200.
#[utoipa::path(
    get,
    path = "/api/processes/{process}/indicators/{indicator}/cases",
    tag = "indicators",
    params(
        ("process" = String, Path, description = "the process's id"),
        ("indicator" = String, Path, description = "the indicator's id"),
        Bar
    ),
    responses(
        (status = 200, description = "instance id, folio and value of each case", body = IndicatorCases),
        ReadRefusals,
        Unprocessable
    )
)]
pub(super) async fn cases(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path((process, indicator)): Path<(String, String)>,
    Query(q): Query<Bar>,
) -> Result<Json<IndicatorCases>, ApiError> {
    let (period, group) = (q.period.unwrap_or_default(), q.group.unwrap_or_default());
    let cases = app::indicator_cases(&rt, &actor, &process, &indicator, &period, &group).await?;
    Ok(Json(IndicatorCases { cases }))
}
