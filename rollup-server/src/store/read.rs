//! Reads from the store into the in-memory views.

use super::{Store, StoreError};
use crate::metrics::Dimension;
use crate::query::views::{ViewRecord, DIMENSIONS};
use crate::query::TenantViews;
use std::collections::HashMap;

fn read_views(
    conn: &duckdb::Connection,
    tenant: Option<&str>,
) -> Result<HashMap<String, TenantViews>, duckdb::Error> {
    let columns: Vec<String> = Dimension::ALL
        .iter()
        .map(|d| format!("v.{}", d.sql()))
        .collect();
    let sql = format!(
        "SELECT v.tenant_id, v.started_ms, v.viewer_key, v.ttff_ms, v.watched_ms, v.rebuffer_ms,
                v.fatal_error, v.reached_first_frame, {}, v.duration_s, r.froms, r.tos,
                v.last_ms, hash(coalesce(v.session_id, v.view_id))
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
        columns.join(", ")
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
            *dim = text(row.get_ref(8 + i)?);
        }
        let after = 8 + DIMENSIONS;
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
            started_ms: row.get(1)?,
            viewer_key: row.get(2)?,
            ttff_ms: row.get(3)?,
            watched_ms: row.get(4)?,
            rebuffer_ms: row.get(5)?,
            fatal_error: row.get(6)?,
            reached_first_frame: row.get(7)?,
            dims,
            duration_s: row.get(after)?,
            last_ms: row.get(after + 3)?,
            who: row.get(after + 4)?,
            ranges: &ranges,
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
}
