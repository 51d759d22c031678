//! Reads from the store into the in-memory views.

use super::write::{read_qoe, QOE_COLUMNS};
use super::{Store, StoreError};
use crate::query::params::{number, Dimension, RealtimeQuery};
use crate::query::views::{text_key, view_keys, ViewRecord, DIMENSIONS};
use crate::query::TenantViews;
use serde_json::{Map, Value};
use std::collections::HashMap;

fn read_views(
    conn: &duckdb::Connection,
    tenant: Option<&str>,
) -> Result<HashMap<String, TenantViews>, duckdb::Error> {
    let columns: Vec<String> = Dimension::ALL
        .iter()
        .map(|d| format!("v.{}", d.column()))
        .collect();
    let qoe: Vec<String> = QOE_COLUMNS.iter().map(|c| format!("v.{c}")).collect();
    let sql = format!(
        "SELECT v.tenant_id, v.started_ms, v.view_id, v.segment, v.ttff_ms, v.watched_ms, v.rebuffer_ms,
                v.fatal_error, v.reached_first_frame, {}, v.duration_s, r.froms, r.tos,
                v.last_ms, v.session_id, v.props, {}
         FROM views v
         LEFT JOIN (
             SELECT tenant_id, view_id, segment, list(from_s ORDER BY from_s) AS froms,
                    list(to_s ORDER BY from_s) AS tos
             FROM view_ranges
             WHERE ? IS NULL OR tenant_id = ?
             GROUP BY tenant_id, view_id, segment
         ) r ON r.tenant_id = v.tenant_id AND r.view_id = v.view_id AND r.segment = v.segment
         WHERE ? IS NULL OR v.tenant_id = ?
         ORDER BY v.tenant_id, v.started_ms",
        columns.join(", "),
        qoe.join(", ")
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params![tenant, tenant, tenant, tenant])?;
    let mut out: HashMap<String, TenantViews> = HashMap::new();
    let mut current: Option<(String, TenantViews)> = None;
    let mut ranges = Vec::new();
    while let Some(row) = rows.next()? {
        let tenant_id = text(row.get_ref(0)?).unwrap_or_default();
        if current.as_ref().is_none_or(|(t, _)| t != tenant_id) {
            if let Some((t, views)) = current.take() {
                out.insert(t, views);
            }
            current = Some((tenant_id.to_string(), TenantViews::default()));
        }
        let Some((_, views)) = current.as_mut() else {
            continue;
        };
        let mut dims = [None; DIMENSIONS];
        for (i, dim) in dims.iter_mut().enumerate() {
            *dim = text(row.get_ref(9 + i)?);
        }
        let after = 9 + DIMENSIONS;
        let (view, who) = view_keys(
            text(row.get_ref(2)?).unwrap_or_default(),
            text(row.get_ref(after + 4)?),
        );
        ranges.clear();
        if let (duckdb::types::Value::List(froms), duckdb::types::Value::List(tos)) = (
            row.get_ref(after + 1)?.to_owned(),
            row.get_ref(after + 2)?.to_owned(),
        ) {
            for (from, to) in froms.iter().zip(tos.iter()) {
                if let (duckdb::types::Value::Double(from), duckdb::types::Value::Double(to)) =
                    (from, to)
                {
                    ranges.push((*from, *to));
                }
            }
        }
        views.push(&ViewRecord {
            view,
            segment: row.get(3)?,
            started_ms: row.get(1)?,
            viewer_key: dims[Dimension::ViewerId as usize].map(text_key),
            ttff_ms: row.get(4)?,
            watched_ms: row.get(5)?,
            rebuffer_ms: row.get(6)?,
            fatal_error: row.get(7)?,
            reached_first_frame: row.get(8)?,
            qoe: read_qoe(row, after + 6)?,
            dims,
            duration_s: row.get(after)?,
            last_ms: row.get(after + 3)?,
            who,
            ranges: &ranges,
            props: text(row.get_ref(after + 5)?),
        });
    }
    if let Some((t, views)) = current {
        out.insert(t, views);
    }
    Ok(out)
}

fn text(value: duckdb::types::ValueRef<'_>) -> Option<&str> {
    match value {
        duckdb::types::ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

impl Store {
    /// The views of `tenant` (or of every tenant) from the `views` table, for the in-memory index.
    pub fn read_views(
        &self,
        tenant: Option<&str>,
    ) -> Result<HashMap<String, TenantViews>, StoreError> {
        Ok(read_views(&self.conn, tenant)?)
    }

    /// [`realtime_viewers`] on the store's own connection.
    pub fn realtime_viewers(
        &self,
        tenant_id: &str,
        since_ms: i64,
        query: &RealtimeQuery,
    ) -> Result<Vec<Map<String, Value>>, StoreError> {
        Ok(realtime_viewers(&self.conn, tenant_id, since_ms, query)?)
    }
}

/// Viewers now: distinct sessions (a view without a session id counts as its own) among view segments
/// with an event received since `since_ms` (bots left out; a view id that has not started yet counts
/// too), and the share of those views that had a fatal error. Dimensions are the views'.
pub fn realtime_viewers(
    conn: &duckdb::Connection,
    tenant_id: &str,
    since_ms: i64,
    query: &RealtimeQuery,
) -> Result<Vec<Map<String, Value>>, duckdb::Error> {
    let groups: Vec<&str> = query.breakdown.iter().map(|d| d.column()).collect();
    let select_groups: String = groups.iter().map(|g| format!("{g}, ")).collect();
    let positions: Vec<String> = (1..=groups.len()).map(|i| i.to_string()).collect();
    let group_by = if groups.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {}", positions.join(", "))
    };
    let sql = format!(
        "SELECT {select_groups}
            count(DISTINCT coalesce(session_id, view_id)) AS viewers,
            coalesce((count(DISTINCT view_id) FILTER (WHERE fatal_error))::DOUBLE
                     / nullif(count(DISTINCT view_id), 0), 0)::DOUBLE AS error_rate
         FROM view_segments
         WHERE tenant_id = ? AND last_received_ms >= ? AND (? IS NULL OR content_id = ?)
         {group_by}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let dims = query.breakdown.clone();
    let content = query.content_id.clone();
    let rows = stmt
        .query_map(
            duckdb::params![tenant_id, since_ms, content, content],
            |row| {
                let mut out = Map::new();
                for (i, d) in dims.iter().enumerate() {
                    if let Some(v) = row.get::<_, Option<String>>(i)? {
                        out.insert(d.api_name().into(), Value::String(v));
                    }
                }
                let viewers: i64 = row.get(dims.len())?;
                let error_rate: f64 = row.get(dims.len() + 1)?;
                out.insert("viewCount".into(), Value::from(viewers));
                out.insert("errorRate".into(), number(error_rate));
                Ok(out)
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|r| r.get("viewCount").and_then(Value::as_i64) != Some(0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::definitions::{store, T0};
    use serde_json::json;

    #[test]
    fn viewers_now_are_recent_sessions() {
        let s = store();
        // Every test event was received at T0: a window starting at T0 sees them, a later one none.
        let all = s
            .realtime_viewers("acme", T0, &RealtimeQuery::default())
            .expect("q");
        assert_eq!(
            all[0]["viewCount"],
            json!(3),
            "v1, v2, v3 (no session ids: one each): {all:?}"
        );
        assert!((all[0]["errorRate"].as_f64().unwrap_or(0.0) - 1.0 / 3.0).abs() < 1e-9);
        assert!(s
            .realtime_viewers("acme", T0 + 1, &RealtimeQuery::default())
            .expect("q")
            .is_empty());
        let by_country = RealtimeQuery {
            breakdown: vec![Dimension::Country],
            ..RealtimeQuery::default()
        };
        let mut rows: Vec<(Value, Value)> = s
            .realtime_viewers("acme", T0, &by_country)
            .expect("q")
            .into_iter()
            .map(|r| (r["country"].clone(), r["viewCount"].clone()))
            .collect();
        rows.sort_by_key(|r| r.0.to_string());
        assert_eq!(rows, vec![(json!("DE"), json!(2)), (json!("US"), json!(1))]);
    }
}
