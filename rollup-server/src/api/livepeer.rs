//! Livepeer-compatible viewership API, so that the official `livepeer` SDK pointed at this server
//! (`serverURL`) works unchanged: `GET /data/views/query`, `GET /data/views/query/creator`,
//! `GET /data/views/query/total/{playbackId}`. The tenant comes from the JWT only.

use super::{ApiError, AppState, Auth};
use crate::query::params::{Dimension, MetricsQuery, TimeStep};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Map, Value};

/// Parses `from`/`to`: epoch milliseconds, or an RFC 3339 date-time.
fn parse_instant(name: &str, value: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "`{name}` must be epoch milliseconds or an RFC 3339 date-time; got `{value}`"
            ))
        })
}

/// Reads Livepeer's query parameters (`breakdownBy[]` may repeat; `breakdownBy` is accepted too).
pub fn parse_metrics_query(raw: Option<&str>) -> Result<MetricsQuery, ApiError> {
    let mut query = MetricsQuery::default();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "playbackId" | "contentId" => query.content_id = Some(value.into_owned()),
            "from" => query.from_ms = Some(parse_instant("from", &value)?),
            "to" => query.to_ms = Some(parse_instant("to", &value)?),
            "timeStep" => {
                query.time_step = Some(TimeStep::parse(&value).map_err(ApiError::bad_request)?)
            }
            "breakdownBy[]" | "breakdownBy" => {
                let dimension = Dimension::parse(&value).map_err(ApiError::bad_request)?;
                if !query.breakdown.contains(&dimension) {
                    query.breakdown.push(dimension);
                }
            }
            // Livepeer filters with no meaning here: every view belongs to the token's tenant.
            "assetId" | "streamId" | "creatorId" => {}
            other => {
                // A dimension's name filters by its value: `country=DE`.
                let dimension = Dimension::parse(other).map_err(|_| {
                    ApiError::bad_request(format!(
                        "unknown parameter `{other}`; expected playbackId, from, to, timeStep, breakdownBy[], \
                         or a dimension to filter by (country=DE)"
                    ))
                })?;
                if query.filters.iter().any(|(d, _)| *d == dimension) {
                    return Err(ApiError::bad_request(format!(
                        "`{other}` is given twice; filter by one value per dimension"
                    )));
                }
                query.filters.push((dimension, value.into_owned()));
            }
        }
    }
    if let (Some(from), Some(to)) = (query.from_ms, query.to_ms) {
        if from >= to {
            return Err(ApiError::bad_request("`from` must be earlier than `to`"));
        }
    }
    Ok(query)
}

/// `GET /data/views/query`: viewership metrics, optionally per time step and broken down.
pub async fn views_query(
    State(state): State<AppState>,
    auth: Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Map<String, Value>>>, ApiError> {
    let query = parse_metrics_query(raw.as_deref())?;
    let tenant = auth.0.tenant;
    let rows = super::with_views(&state, &tenant.clone(), move |index| {
        index.view_metrics(&tenant, &query)
    })
    .await?;
    Ok(Json(rows))
}

/// `GET /api/v1/concurrency`: peak concurrent viewers per `timeStep` bucket (default hour), with the
/// same `from`, `to`, `playbackId` and dimension filters as `/data/views/query`.
pub async fn concurrency(
    State(state): State<AppState>,
    auth: Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Map<String, Value>>>, ApiError> {
    let query = parse_metrics_query(raw.as_deref())?;
    if !query.breakdown.is_empty() {
        return Err(ApiError::bad_request(
            "`breakdownBy` is not supported here; filter by a dimension instead (country=DE)",
        ));
    }
    let tenant = auth.0.tenant;
    let rows = super::with_views(&state, &tenant.clone(), move |index| {
        index.concurrency_peaks(&tenant, &query)
    })
    .await?
    .map_err(ApiError::bad_request)?;
    Ok(Json(rows))
}

/// `GET /data/views/query/total/{playbackId}`: all-time views and playtime of one content.
pub async fn views_total(
    State(state): State<AppState>,
    auth: Auth,
    Path(playback_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let tenant = auth.0.tenant;
    let query = MetricsQuery {
        content_id: Some(playback_id.clone()),
        ..MetricsQuery::default()
    };
    let rows = super::with_views(&state, &tenant.clone(), move |index| {
        index.view_metrics(&tenant, &query)
    })
    .await?;
    let first = rows.into_iter().next().unwrap_or_default();
    Ok(Json(json!({
        "playbackId": playback_id,
        "viewCount": first.get("viewCount").cloned().unwrap_or(json!(0)),
        "playtimeMins": first.get("playtimeMins").cloned().unwrap_or(json!(0.0)),
    })))
}

/// `GET /data/views/now`: viewers right now (distinct sessions with an event received in the last
/// 90 s, as of the last pull), optionally per `playbackId`, `device`, `browser`, `country`.
pub async fn views_now(
    State(state): State<AppState>,
    auth: Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Map<String, Value>>>, ApiError> {
    let mut query = crate::query::params::RealtimeQuery::default();
    for (name, value) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "playbackId" => query.content_id = Some(value.into_owned()),
            "creatorId" => {}
            "breakdownBy[]" | "breakdownBy" => {
                let dimension = Dimension::parse_realtime(&value).map_err(ApiError::bad_request)?;
                if !query.breakdown.contains(&dimension) {
                    query.breakdown.push(dimension);
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter `{other}`; expected playbackId, breakdownBy[]"
                )))
            }
        }
    }
    let tenant = auth.0.tenant;
    let since_ms = crate::clock::now_ms() - crate::query::params::REALTIME_WINDOW_MS;
    let rows = state
        .readers
        .run(&tenant.clone(), move |conn| {
            crate::store::read::realtime_viewers(conn, &tenant, since_ms, &query)
        })
        .await?;
    Ok(Json(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn livepeer_parameters_are_read_and_bad_ones_named() {
        let q = parse_metrics_query(Some(
            "playbackId=abc&timeStep=day&breakdownBy%5B%5D=country&breakdownBy[]=browser&from=2026-11-01T00:00:00Z&to=1795000000000",
        ))
        .expect("valid");
        assert_eq!(q.content_id.as_deref(), Some("abc"));
        assert_eq!(q.time_step, Some(TimeStep::Day));
        assert_eq!(q.breakdown, vec![Dimension::Country, Dimension::Browser]);
        assert_eq!(q.from_ms, Some(1_793_491_200_000)); // 2026-11-01T00:00:00Z
        for bad in [
            "timeStep=minute",
            "breakdownBy[]=cpu",
            "from=yesterday",
            "from=5&to=5",
            "x=1",
            "country=DE&country=FR",
        ] {
            assert!(parse_metrics_query(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn dimension_names_filter_by_value() {
        let q = parse_metrics_query(Some("country=DE&browserEngine=Blink")).expect("valid");
        assert_eq!(
            q.filters,
            vec![
                (Dimension::Country, "DE".to_string()),
                (Dimension::BrowserEngine, "Blink".to_string())
            ]
        );
    }

    #[test]
    fn sql_looking_values_stay_data() {
        let q = parse_metrics_query(Some("playbackId=x%27%20OR%201%3D1%20--")).expect("valid");
        assert_eq!(q.content_id.as_deref(), Some("x' OR 1=1 --"));
    }
}
