//! Rows handed to DuckDB as Arrow record batches, read in SQL as `staged(?)`.
//!
//! A load stages its rows (events, segments, ranges, object records) as record batches and reads them
//! in the statements that insert, semi-join and delete, rather than in temporary tables. A
//! [`StagedBatch`] keeps its batch in a process-wide registry under a fresh number while it lives; the
//! `staged` table function finds the batch by that number when a statement binds, and the batch is
//! dropped with its guard. (duckdb-rs's own `arrow(?, ?)` function keeps every batch it is given for
//! the life of the process, which a server that loads every five minutes cannot afford.)

use std::collections::HashMap;
use std::error::Error;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::types::{ToSql, ToSqlOutput};
use duckdb::vtab::{
    record_batch_to_duckdb_data_chunk, to_duckdb_logical_type_for_field, BindInfo, InitInfo,
    TableFunctionInfo, VTab,
};
use duckdb::Connection;

/// The name of the table function in SQL.
pub const FUNCTION_NAME: &str = "staged";

/// Rows per call of the scan: DuckDB's standard vector size, the capacity of the chunk it hands us.
const ROWS_PER_CHUNK: usize = 2048;

fn registry() -> &'static Mutex<HashMap<i64, Arc<RecordBatch>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<i64, Arc<RecordBatch>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

fn with_registry<T>(f: impl FnOnce(&mut HashMap<i64, Arc<RecordBatch>>) -> T) -> T {
    // The map is only inserted into and removed from; a panic elsewhere cannot leave it half-changed.
    let mut map = registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut map)
}

/// A record batch readable as `staged(?)` (bind the guard itself as the parameter) while it lives.
pub struct StagedBatch {
    id: i64,
}

impl StagedBatch {
    /// Stages `batch` until the guard is dropped.
    pub fn new(batch: RecordBatch) -> StagedBatch {
        static NEXT: AtomicI64 = AtomicI64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        with_registry(|map| map.insert(id, Arc::new(batch)));
        StagedBatch { id }
    }
}

impl Drop for StagedBatch {
    fn drop(&mut self) {
        with_registry(|map| map.remove(&self.id));
    }
}

impl ToSql for StagedBatch {
    fn to_sql(&self) -> duckdb::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.id))
    }
}

/// Registers `staged` on a connection.
pub fn register(conn: &Connection) -> duckdb::Result<()> {
    conn.register_table_function::<StagedScan>(FUNCTION_NAME)
}

/// The `staged(id)` table function.
pub struct StagedScan;

/// The batch a statement bound.
pub struct StagedBind {
    batch: Arc<RecordBatch>,
}

/// How far the scan has read.
pub struct StagedInit {
    offset: AtomicUsize,
}

impl VTab for StagedScan {
    type BindData = StagedBind;
    type InitData = StagedInit;

    fn bind(bind: &BindInfo) -> Result<StagedBind, Box<dyn Error>> {
        let value = bind.get_parameter(0);
        if value.is_null() || value.logical_type_id() != LogicalTypeId::Bigint {
            return Err("staged(?) takes the BIGINT number of a StagedBatch".into());
        }
        let id = value.to_int64();
        let batch = with_registry(|map| map.get(&id).cloned())
            .ok_or_else(|| format!("staged({id}): no such batch (its guard was dropped)"))?;
        for field in batch.schema().fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(StagedBind { batch })
    }

    fn init(_: &InitInfo) -> Result<StagedInit, Box<dyn Error>> {
        Ok(StagedInit {
            offset: AtomicUsize::new(0),
        })
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn Error>> {
        let batch = &func.get_bind_data().batch;
        let rows = batch.num_rows();
        let offset = func
            .get_init_data()
            .offset
            .fetch_add(ROWS_PER_CHUNK, Ordering::Relaxed);
        if offset >= rows {
            output.set_len(0);
            return Ok(());
        }
        let len = (rows - offset).min(ROWS_PER_CHUNK);
        record_batch_to_duckdb_data_chunk(&batch.slice(offset, len), output)?;
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Bigint)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::arrow::array::{ArrayRef, Int64Array, StringArray};

    fn batch(rows: i64) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..rows).map(|i| format!("n{i}")),
        ));
        RecordBatch::try_from_iter([("id", ids), ("name", names)]).expect("batch")
    }

    #[test]
    fn every_row_of_a_batch_larger_than_a_vector_is_read() {
        let conn = Connection::open_in_memory().expect("db");
        register(&conn).expect("register");
        let staged = StagedBatch::new(batch(5000));
        let (count, sum, last): (i64, i64, String) = conn
            .query_row(
                "SELECT count(*), sum(id), max_by(name, id) FROM staged(?)",
                [&staged],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("query");
        assert_eq!(
            (count, sum, last.as_str()),
            (5000, 4999 * 5000 / 2, "n4999")
        );
    }

    #[test]
    fn a_dropped_batch_is_gone_from_memory_and_from_sql() {
        let conn = Connection::open_in_memory().expect("db");
        register(&conn).expect("register");
        let staged = StagedBatch::new(batch(3));
        let id = staged.id;
        drop(staged);
        assert!(with_registry(|map| !map.contains_key(&id)));
        let err = conn
            .query_row("SELECT count(*) FROM staged(?)", [id], |r| {
                r.get::<_, i64>(0)
            })
            .expect_err("a dropped batch cannot be read");
        assert!(err.to_string().contains("no such batch"), "{err}");
    }
}
