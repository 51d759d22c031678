//! mave-compatible API: `/api/v1/plays`, `/api/v1/engagement`, `/api/v1/sources`, each by GET (query
//! string) or POST (JSON body) with the same parameters and answer shapes as mave's metrics server.
//! The tenant comes from the JWT only.

use super::{ApiError, AppState, Auth};
use crate::clock::now_ms;
use crate::query::params::{PlaysQuery, Span, Timeframe};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Json;
use serde_json::{json, Map, Value};

/// Most custom props a `query` may match.
const MAX_QUERY_PROPS: usize = 10;
/// Most engagement ranges.
const MAX_RANGES: u32 = 1_000;

/// A mave request's parameters, from the query string (GET) or the JSON body (POST).
fn parameters(
    method: &Method,
    raw: Option<&str>,
    body: &Bytes,
) -> Result<Map<String, Value>, ApiError> {
    if method == Method::POST && !body.is_empty() {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request(format!(
                "the body is not valid JSON: {e}"
            ))),
        };
    }
    let mut map = Map::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        // `query` carries JSON in a query string.
        let value = if name == "query" {
            serde_json::from_str(&value)
                .map_err(|e| ApiError::bad_request(format!("`query` must be a JSON object: {e}")))?
        } else {
            Value::String(value.into_owned())
        };
        map.insert(name.into_owned(), value);
    }
    Ok(map)
}

/// A number given as JSON number or text (`3`, `3 seconds`).
fn number(name: &str, value: &Value) -> Result<f64, ApiError> {
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .trim()
            .trim_end_matches("seconds")
            .trim_end_matches("second")
            .trim()
            .parse::<f64>()
            .ok(),
        _ => None,
    };
    parsed
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{name}` must be a number of seconds >= 0; got {value}"
            ))
        })
}

fn text<'a>(name: &str, value: &'a Value) -> Result<&'a str, ApiError> {
    value
        .as_str()
        .ok_or_else(|| ApiError::bad_request(format!("`{name}` must be a string; got {value}")))
}

/// Epoch seconds (mave's `from`/`to`) to ms.
fn epoch_s(name: &str, value: &Value) -> Result<i64, ApiError> {
    let n = number(name, value)?;
    if n > 1e11 {
        return Err(ApiError::bad_request(format!(
            "`{name}` must be unix seconds; got {value}"
        )));
    }
    Ok((n * 1000.0) as i64)
}

/// Reads a mave query; `with_ranges` also reads `ranges` (engagement).
fn read_query(
    params: &Map<String, Value>,
    with_ranges: bool,
) -> Result<(PlaysQuery, u32), ApiError> {
    let mut query = PlaysQuery::default();
    let mut ranges = 10;
    let (mut from_ms, mut to_ms) = (None, None);
    for (name, value) in params {
        match name.as_str() {
            "identifier" => query.identifier = Some(text(name, value)?.to_string()),
            "query" => query.props = props(value)?,
            "interval" => {
                query.interval =
                    Span::parse(name, text(name, value)?).map_err(ApiError::bad_request)?
            }
            "minimum_watch_seconds" => {
                query.minimum_watch_ms = (number(name, value)? * 1000.0).round() as i64
            }
            "timeframe" => match value {
                Value::String(s) => {
                    query.timeframe =
                        Timeframe::Last(Span::parse(name, s).map_err(ApiError::bad_request)?)
                }
                Value::Number(_) => from_ms = Some(epoch_s(name, value)?),
                Value::Object(o) => {
                    from_ms = o
                        .get("from")
                        .map(|v| epoch_s("timeframe.from", v))
                        .transpose()?;
                    to_ms = o
                        .get("to")
                        .map(|v| epoch_s("timeframe.to", v))
                        .transpose()?;
                }
                _ => return Err(ApiError::bad_request(
                    "`timeframe` must be like `7 days`, unix seconds, or {\"from\": s, \"to\": s}",
                )),
            },
            "from" => from_ms = Some(epoch_s(name, value)?),
            "to" => to_ms = Some(epoch_s(name, value)?),
            "ranges" if with_ranges => {
                let n = number(name, value)?;
                if n < 1.0 || n > f64::from(MAX_RANGES) || n.fract() != 0.0 {
                    return Err(ApiError::bad_request(format!(
                        "`ranges` must be a whole number from 1 to {MAX_RANGES}; got {value}"
                    )));
                }
                ranges = n as u32;
            }
            other => {
                let expected = if with_ranges {
                    "identifier, query, timeframe, from, to, minimum_watch_seconds, ranges"
                } else {
                    "identifier, query, interval, timeframe, from, to, minimum_watch_seconds"
                };
                return Err(ApiError::bad_request(format!(
                    "unknown parameter `{other}`; expected {expected}"
                )));
            }
        }
    }
    match (from_ms, to_ms) {
        (Some(from_ms), to_ms) => {
            if to_ms.is_some_and(|to| to < from_ms) {
                return Err(ApiError::bad_request("`from` must not be later than `to`"));
            }
            query.timeframe = Timeframe::Between { from_ms, to_ms };
        }
        (None, Some(to_ms)) => {
            query.timeframe = Timeframe::Between {
                from_ms: 0,
                to_ms: Some(to_ms),
            }
        }
        (None, None) => {}
    }
    Ok((query, ranges))
}

/// `query`: a JSON object of custom props to match exactly (strings, numbers, booleans).
fn props(value: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "`query` must be a JSON object of custom props",
        ));
    };
    if map.len() > MAX_QUERY_PROPS {
        return Err(ApiError::bad_request(format!(
            "`query` matches at most {MAX_QUERY_PROPS} props"
        )));
    }
    map.iter()
        .map(|(key, v)| {
            let valid_key = !key.is_empty()
                && key.len() <= 64
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_key {
                return Err(ApiError::bad_request(format!(
                    "`query` keys are 1-64 letters, digits, `_` or `-`; got `{key}`"
                )));
            }
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`query.{key}` must be a string, number or boolean"
                    )))
                }
            };
            Ok((key.clone(), text))
        })
        .collect()
}

/// Reads a GET query string as `/api/v1/engagement` does (the parser the fuzz targets drive).
pub fn parse_get_query(raw: &str) -> Result<(PlaysQuery, u32), ApiError> {
    read_query(&parameters(&Method::GET, Some(raw), &Bytes::new())?, true)
}

/// One mave query: which answer it computes. `plays` answers `{"views": [...]}`, `sources`
/// `{"sources": [...]}`, `engagement` `{"engagement": [...]}`.
#[derive(Clone, Copy)]
pub enum Answer {
    Plays,
    Sources,
    Engagement,
}

/// Reads the parameters (GET or POST), runs the query for the token's tenant, and wraps the rows in
/// mave's field (`views`, `sources` or `engagement`).
async fn answer(
    state: AppState,
    auth: Auth,
    method: Method,
    raw: Option<String>,
    body: Bytes,
    kind: Answer,
) -> Result<Response, ApiError> {
    let with_ranges = matches!(kind, Answer::Engagement);
    let (query, ranges) = read_query(&parameters(&method, raw.as_deref(), &body)?, with_ranges)?;
    let tenant = auth.0.tenant;
    let t = tenant.clone();
    let rows = super::with_views(&state, &tenant, move |index| match kind {
        Answer::Plays => Rows::Values("views", index.plays(&t, &query, now_ms())),
        Answer::Sources => Rows::Json(index.sources_json(&t, &query, now_ms())),
        Answer::Engagement => {
            Rows::Values("engagement", index.engagement(&t, &query, ranges, now_ms()))
        }
    })
    .await?;
    // Serialized outside the tenant's turn.
    Ok(match rows {
        Rows::Values(field, rows) => Json(json!({ field: rows })).into_response(),
        Rows::Json(body) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
    })
}

/// A mave answer's rows and the field that holds them.
enum Rows {
    Values(&'static str, Vec<Value>),
    /// A whole answer, already JSON.
    Json(Vec<u8>),
}

/// The route of one mave answer: GET with a query string, or POST with a JSON body.
pub fn route(kind: Answer) -> MethodRouter<AppState> {
    let handler = move |State(state): State<AppState>,
                        auth: Auth,
                        method: Method,
                        RawQuery(raw): RawQuery,
                        body: Bytes| answer(state, auth, method, raw, body, kind);
    get(handler).post(handler)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::params::SpanUnit;

    fn get(q: &str) -> Result<(PlaysQuery, u32), ApiError> {
        read_query(&parameters(&Method::GET, Some(q), &Bytes::new())?, true)
    }

    #[test]
    fn get_and_post_read_the_same_parameters() {
        let (q, ranges) = get("identifier=film&interval=1%20day&timeframe=1%20month&minimum_watch_seconds=3%20seconds&ranges=100&query=%7B%22season%22%3A2%7D")
            .expect("valid");
        let body = Bytes::from(
            r#"{"identifier":"film","interval":"1 day","timeframe":"1 month","minimum_watch_seconds":3,"ranges":100,"query":{"season":2}}"#,
        );
        let (p, post_ranges) =
            read_query(&parameters(&Method::POST, None, &body).expect("json"), true)
                .expect("valid");
        assert_eq!(q, p);
        assert_eq!((ranges, post_ranges), (100, 100));
        assert_eq!(q.minimum_watch_ms, 3_000);
        assert_eq!(q.props, vec![("season".to_string(), "2".to_string())]);
        assert_eq!(
            q.timeframe,
            Timeframe::Last(Span {
                count: 1,
                unit: SpanUnit::Month
            })
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        for (bad, named) in [
            ("interval=fortnightly", "`interval`"),
            ("minimum_watch_seconds=-1", "`minimum_watch_seconds`"),
            ("ranges=0", "`ranges`"),
            ("query=%5B1%5D", "`query`"),
            ("query=%7B%22a%27b%22%3A1%7D", "`query` keys"),
            ("from=10&to=5", "`from`"),
            ("color=red", "`color`"),
        ] {
            let err = get(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(
                matches!(&err, ApiError::BadRequest(m) if m.contains(named)),
                "{bad}: {err:?}"
            );
        }
    }
}
