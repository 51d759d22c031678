//! Fair shares of the query work, and the store's read connections for the queries the in-memory
//! views cannot answer (viewers now, mave's queries on custom props). Read connections are DuckDB
//! connections of their own, so a read never waits on a pull's transaction (DuckDB gives each a
//! snapshot) nor on the store's lock. Every query, from memory or DuckDB, takes its tenant's turn:
//!
//! - a tenant runs at most [`PER_TENANT`] queries at once (on two cores, one tenant flooding the
//!   server gets one core, the others the rest) and waits at most [`QUEUE_WAIT`] for its turn, then
//!   gets 429 with `Retry-After`;
//! - a read that finds every connection busy for [`QUEUE_WAIT`] gets 503 with `Retry-After`;
//! - a read still running after its budget ([`DEFAULT_BUDGET`], `--query-budget-ms`) is interrupted
//!   inside DuckDB and answered 503 with `Retry-After`.

use duckdb::Connection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Read connections.
pub const CONNECTIONS: usize = 4;
/// Queries one tenant runs at once.
pub const PER_TENANT: usize = 1;
/// How long a read waits for its tenant's turn, then for a connection.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// How long a read may run.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(5);

/// Why a read was not answered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "this tenant's queries have waited {} s for their turn ({PER_TENANT} at a time); retry in \
         {retry_after_s} s",
        QUEUE_WAIT.as_secs()
    )]
    TenantBusy { retry_after_s: u64 },
    #[error("every read connection is busy; retry in {retry_after_s} s")]
    Overloaded { retry_after_s: u64 },
    #[error(
        "the query ran past its {budget_ms} ms budget and was stopped; narrow it (a shorter window, \
         fewer groups) or retry in {retry_after_s} s"
    )]
    OverBudget { budget_ms: u64, retry_after_s: u64 },
    #[error(transparent)]
    Store(#[from] duckdb::Error),
    #[error("a background task failed: {0}")]
    TaskFailed(String),
}

impl ReadError {
    /// The `Retry-After` of a refusal, in seconds (none for a failure).
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            ReadError::TenantBusy { retry_after_s }
            | ReadError::Overloaded { retry_after_s }
            | ReadError::OverBudget { retry_after_s, .. } => Some(*retry_after_s),
            ReadError::Store(_) | ReadError::TaskFailed(_) => None,
        }
    }
}

/// A read connection and the handle that stops its query.
struct Reader {
    conn: Mutex<Connection>,
    interrupt: Arc<duckdb::InterruptHandle>,
}

/// The pool of read connections.
pub struct Readers {
    readers: Vec<Reader>,
    free: Arc<Semaphore>,
    /// The connections no read holds (as many as `free` has permits, or more briefly).
    idle: Mutex<Vec<usize>>,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
    budget: Duration,
}

/// A connection taken from the idle list, given back when dropped.
struct Taken {
    pool: Arc<Readers>,
    index: usize,
}

impl Drop for Taken {
    fn drop(&mut self) {
        lock(&self.pool.idle).push(self.index);
    }
}

/// Locks `mutex`, taking it back from a panicked holder (nothing guarded here is left half-changed).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Readers {
    /// `count` connections to the database of `conn`, each read allowed `budget`.
    pub fn new(conn: &Connection, count: usize, budget: Duration) -> duckdb::Result<Readers> {
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            let conn = conn.try_clone()?;
            conn.set_prepared_statement_cache_capacity(64);
            readers.push(Reader {
                interrupt: conn.interrupt_handle(),
                conn: Mutex::new(conn),
            });
        }
        Ok(Readers {
            free: Arc::new(Semaphore::new(readers.len())),
            idle: Mutex::new((0..readers.len()).collect()),
            readers,
            tenants: Mutex::default(),
            budget,
        })
    }

    /// Waits for `tenant`'s turn to run a query (at most [`QUEUE_WAIT`]); the turn lasts as long as
    /// the permit.
    pub async fn turn(&self, tenant: &str) -> Result<OwnedSemaphorePermit, ReadError> {
        tokio::time::timeout(QUEUE_WAIT, self.tenant_turns(tenant).acquire_owned())
            .await
            .map_err(|_| ReadError::TenantBusy { retry_after_s: 1 })?
            .map_err(|e| ReadError::TaskFailed(e.to_string()))
    }

    fn tenant_turns(&self, tenant: &str) -> Arc<Semaphore> {
        let mut tenants = lock(&self.tenants);
        if tenants.len() > 10_000 {
            // Forget the tenants with nothing running.
            tenants.retain(|_, turns| turns.available_permits() < PER_TENANT);
        }
        tenants
            .entry(tenant.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_TENANT)))
            .clone()
    }

    /// Runs `read` for `tenant` on an idle connection, within the tenant's share and the budget.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        tenant: &str,
        read: impl FnOnce(&Connection) -> duckdb::Result<T> + Send + 'static,
    ) -> Result<T, ReadError> {
        let turn = self.turn(tenant).await?;
        let connection: OwnedSemaphorePermit =
            tokio::time::timeout(QUEUE_WAIT, self.free.clone().acquire_owned())
                .await
                .map_err(|_| ReadError::Overloaded { retry_after_s: 1 })?
                .map_err(|e| ReadError::TaskFailed(e.to_string()))?;
        let index = lock(&self.idle)
            .pop()
            .ok_or_else(|| ReadError::TaskFailed("no idle read connection".into()))?;
        let taken = Taken {
            pool: self.clone(),
            index,
        };
        // Whether the read finished and whether the budget stopped it, decided under one lock: the
        // interrupt is sent only while the read still holds its connection.
        let outcome = Arc::new(Mutex::new((false, false)));
        let task_outcome = outcome.clone();
        let task = tokio::task::spawn_blocking(move || {
            let result = {
                let conn = lock(&taken.pool.readers[taken.index].conn);
                read(&conn)
            };
            lock(&task_outcome).0 = true;
            // The connection goes back before the permits that let the next read take it.
            drop(taken);
            drop((connection, turn));
            result
        });
        let budget = self.budget;
        let interrupt = self.readers[index].interrupt.clone();
        let watchdog_outcome = outcome.clone();
        let watchdog = tokio::spawn(async move {
            tokio::time::sleep(budget).await;
            let mut outcome = lock(&watchdog_outcome);
            if !outcome.0 {
                outcome.1 = true;
                interrupt.interrupt();
            }
        });
        let joined = task.await;
        watchdog.abort();
        let result = joined.map_err(|e| ReadError::TaskFailed(e.to_string()))?;
        let stopped = lock(&outcome).1;
        match result {
            Err(_) if stopped => Err(ReadError::OverBudget {
                budget_ms: budget.as_millis() as u64,
                retry_after_s: 5,
            }),
            other => other.map_err(ReadError::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers(count: usize, budget: Duration) -> Arc<Readers> {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
            .expect("table");
        Arc::new(Readers::new(&conn, count, budget).expect("readers"))
    }

    /// A query DuckDB would run for minutes.
    fn endless(conn: &Connection) -> duckdb::Result<i64> {
        conn.query_row(
            "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3",
            [],
            |r| r.get(0),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_past_its_budget_is_stopped_and_the_connection_serves_the_next() {
        let pool = readers(1, Duration::from_millis(200));
        let started = std::time::Instant::now();
        let error = pool.run("acme", endless).await.expect_err("stopped");
        assert!(
            matches!(error, ReadError::OverBudget { budget_ms: 200, .. }),
            "{error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(error.retry_after_s(), Some(5));
        // The one connection is free again and its next query is not interrupted.
        let sum: i64 = pool
            .run("acme", |c| {
                c.query_row("SELECT sum(x)::BIGINT FROM t", [], |r| r.get(0))
            })
            .await
            .expect("next read");
        assert_eq!(sum, 499_500);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tenant_past_its_share_is_refused_while_another_tenant_reads() {
        let pool = readers(PER_TENANT + 1, Duration::from_secs(4));
        let mut running = Vec::new();
        for _ in 0..PER_TENANT {
            let pool = pool.clone();
            running.push(tokio::spawn(async move { pool.run("hog", endless).await }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = pool.run("hog", endless).await.expect_err("over its share");
        assert!(matches!(refused, ReadError::TenantBusy { .. }), "{refused}");
        assert_eq!(refused.retry_after_s(), Some(1));
        // Another tenant has a connection of its own meanwhile.
        let count: i64 = pool
            .run("quiet", |c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            })
            .await
            .expect("the other tenant reads");
        assert_eq!(count, 1000);
        for hog in running {
            let outcome = hog.await.expect("joined");
            assert!(
                matches!(outcome, Err(ReadError::OverBudget { .. })),
                "{outcome:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_do_not_wait_for_a_writer_transaction() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t AS SELECT range AS x FROM range(10)")
            .expect("table");
        let pool = Arc::new(Readers::new(&conn, 1, DEFAULT_BUDGET).expect("readers"));
        let mut writer = conn;
        let tx = writer.transaction().expect("tx");
        tx.execute_batch("INSERT INTO t SELECT range FROM range(10, 20)")
            .expect("insert");
        // While the write is open, a read sees the data as committed, without waiting.
        let seen: i64 = pool
            .run("acme", |c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            })
            .await
            .expect("read");
        assert_eq!(seen, 10);
        tx.commit().expect("commit");
        let seen: i64 = pool
            .run("acme", |c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            })
            .await
            .expect("read");
        assert_eq!(seen, 20);
    }
}
