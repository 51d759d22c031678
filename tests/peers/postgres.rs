//! PostgreSQL 15 as a peer: a private cluster (initdb into a temporary directory, a free loopback
//! port; run as the `postgres` user when we are root, since PostgreSQL refuses root), the lake loaded
//! with COPY FROM STDIN (decoding the gzip NDJSON into COPY text is part of the measured load), views
//! built and indexed by tests/peers/postgres.sql, and the dashboard queries prepared and run from it.

use super::answers::Rows;
use super::sql_sections;
use flate2::read::MultiGzDecoder;
use postgres::types::Type;
use postgres::{Client, NoTls};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

/// The SQL of the PostgreSQL side.
pub const SQL: &str = include_str!("postgres.sql");

/// Settings of the private cluster: a dedicated analytics box with 24 GB of memory and 2 cores, tuned
/// as its operator would for bulk loads and reporting queries (durability of each commit is not
/// needed for a rebuildable rollup, so `synchronous_commit` is off; JIT compilation costs more than
/// it saves on queries of a few ms). Autovacuum is off so that its work after the bulk load does not
/// run during the other systems' timings; the tables the queries read are analyzed by the load.
const SETTINGS: &str = "
listen_addresses = '127.0.0.1'
shared_buffers = '4GB'
effective_cache_size = '16GB'
work_mem = '256MB'
maintenance_work_mem = '1GB'
max_wal_size = '16GB'
wal_level = minimal
max_wal_senders = 0
synchronous_commit = off
max_parallel_workers_per_gather = 2
random_page_cost = 1.1
jit = off
autovacuum = off
timezone = 'UTC'
";

/// A running private cluster; stopped (and removed) on drop.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the server's commands as this user (we are root).
    run_as: Option<&'static str>,
}

fn pg_bin() -> PathBuf {
    std::env::var("PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// initdb and start a cluster on a free loopback port.
    pub fn start() -> anyhow::Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("peer-pg").tempdir()?;
        let run_as = is_root().then_some("postgres");
        if let Some(user) = run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()?;
            anyhow::ensure!(status.success(), "chown {user} {}", dir.path().display());
        }
        let cluster = Cluster {
            dir,
            bin: pg_bin(),
            port: pipeline_tests::free_port(),
            run_as,
        };
        let out = cluster
            .command("initdb")
            .args(["-D"])
            .arg(cluster.data())
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
            ])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "initdb failed (is postgresql-15 installed? scripts/setup-peers.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let conf = cluster.data().join("postgresql.conf");
        let mut settings = std::fs::OpenOptions::new().append(true).open(&conf)?;
        writeln!(
            settings,
            "{SETTINGS}port = {}\nunix_socket_directories = '{}'",
            cluster.port,
            cluster.dir.path().display()
        )?;
        let out = cluster
            .command("pg_ctl")
            .args(["-D"])
            .arg(cluster.data())
            .args(["-l"])
            .arg(cluster.dir.path().join("server.log"))
            .args(["-w", "start"])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "pg_ctl start failed: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(cluster.dir.path().join("server.log")).unwrap_or_default()
        );
        Ok(cluster)
    }

    /// A new connection as the superuser.
    pub fn connect(&self) -> anyhow::Result<Client> {
        Ok(Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres",
                self.port
            ),
            NoTls,
        )?)
    }

    /// The postmaster's process id (its children are the server's other processes).
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D"])
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .output();
    }
}

/// One lake event as the edge wrote it: the `events` columns, in table order.
#[derive(Deserialize)]
struct LakeEvent<'a> {
    #[serde(borrow)]
    tenant_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    eid: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    event_type: Option<Cow<'a, str>>,
    ts: Option<i64>,
    received_at: Option<i64>,
    #[serde(borrow)]
    key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    anonymous_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    view_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content_title: Option<Cow<'a, str>>,
    season: Option<i64>,
    episode: Option<i64>,
    duration_s: Option<f64>,
    position_s: Option<f64>,
    #[serde(borrow)]
    page_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    referrer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    player_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    player_version: Option<Cow<'a, str>>,
    ttff_ms: Option<i64>,
    watched_ms: Option<i64>,
    rebuffer_ms: Option<i64>,
    #[serde(borrow)]
    played: Option<&'a RawValue>,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_message: Option<Cow<'a, str>>,
    fatal: Option<bool>,
    bitrate: Option<i64>,
    width: Option<i64>,
    height: Option<i64>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    props: Option<&'a RawValue>,
    #[serde(borrow)]
    browser: Option<Cow<'a, str>>,
    #[serde(borrow)]
    browser_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    os: Option<Cow<'a, str>>,
    #[serde(borrow)]
    os_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    device_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    device_brand: Option<Cow<'a, str>>,
    #[serde(borrow)]
    device_model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    continent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    country: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subdivision: Option<Cow<'a, str>>,
    #[serde(borrow)]
    city: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timezone: Option<Cow<'a, str>>,
    #[serde(borrow)]
    colo: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
}

/// A value written as a field of COPY's text format.
trait CopyField {
    fn write_to(&self, out: &mut Vec<u8>);
}

fn escaped(text: &str, out: &mut Vec<u8>) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
}

impl CopyField for Option<Cow<'_, str>> {
    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Some(s) => escaped(s, out),
            None => out.extend_from_slice(b"\\N"),
        }
    }
}

impl CopyField for Option<&RawValue> {
    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Some(raw) if raw.get() != "null" => escaped(raw.get(), out),
            _ => out.extend_from_slice(b"\\N"),
        }
    }
}

macro_rules! copy_display {
    ($($t:ty),*) => {$(
        impl CopyField for Option<$t> {
            fn write_to(&self, out: &mut Vec<u8>) {
                match self {
                    Some(v) => { let _ = write!(out, "{v}"); }
                    None => out.extend_from_slice(b"\\N"),
                }
            }
        }
    )*};
}
copy_display!(i64, f64, bool);

impl LakeEvent<'_> {
    /// One line of COPY text, the columns in table order.
    fn write_copy_line(&self, out: &mut Vec<u8>) {
        let fields: [&dyn CopyField; 47] = [
            &self.tenant_id,
            &self.eid,
            &self.event_type,
            &self.ts,
            &self.received_at,
            &self.key_id,
            &self.anonymous_id,
            &self.user_id,
            &self.session_id,
            &self.view_id,
            &self.content_id,
            &self.content_type,
            &self.content_title,
            &self.season,
            &self.episode,
            &self.duration_s,
            &self.position_s,
            &self.page_url,
            &self.referrer,
            &self.player_name,
            &self.player_version,
            &self.ttff_ms,
            &self.watched_ms,
            &self.rebuffer_ms,
            &self.played,
            &self.error_code,
            &self.error_message,
            &self.fatal,
            &self.bitrate,
            &self.width,
            &self.height,
            &self.name,
            &self.props,
            &self.browser,
            &self.browser_version,
            &self.os,
            &self.os_version,
            &self.device_type,
            &self.device_brand,
            &self.device_model,
            &self.continent,
            &self.country,
            &self.subdivision,
            &self.city,
            &self.timezone,
            &self.colo,
            &self.user_agent,
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            field.write_to(out);
        }
        out.push(b'\n');
    }
}

/// Every batch object under `lake`, in key order.
pub fn lake_objects(lake: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".ndjson.gz") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(lake, &mut out);
    out.sort();
    out
}

/// One batch object as COPY text, and its event count.
fn copy_text(object: &Path) -> anyhow::Result<(Vec<u8>, u64)> {
    let reader = BufReader::new(MultiGzDecoder::new(std::fs::File::open(object)?));
    let mut out = Vec::new();
    let mut events = 0;
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let event: LakeEvent<'_> = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("{}: {e}", object.display()))?;
        event.write_copy_line(&mut out);
        events += 1;
    }
    Ok((out, events))
}

/// What the load did.
pub struct LoadFigures {
    /// Events copied (lines of the lake, retried copies included).
    pub events: u64,
    pub copy_s: f64,
    pub build_s: f64,
}

/// Creates the schema, copies the lake's events in (two decoding threads feed one COPY), and builds
/// the views with their indexes.
pub fn load(client: &mut Client, lake: &Path) -> anyhow::Result<LoadFigures> {
    let sections = sql_sections(SQL);
    let started = std::time::Instant::now();
    let objects = lake_objects(lake);
    // Table and COPY in one transaction: with wal_level = minimal the rows skip the WAL.
    let mut tx = client.transaction()?;
    tx.batch_execute(&sections["schema"])?;
    let mut writer = tx.copy_in("COPY events FROM STDIN")?;
    let next = AtomicUsize::new(0);
    let (send, receive) = sync_channel::<anyhow::Result<(Vec<u8>, u64)>>(8);
    let mut events = 0;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..2 {
            let (send, next, objects) = (send.clone(), &next, &objects);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(object) = objects.get(i) else { break };
                if send.send(copy_text(object)).is_err() {
                    break;
                }
            });
        }
        drop(send);
        for chunk in receive {
            let (text, n) = chunk?;
            writer.write_all(&text)?;
            events += n;
        }
        Ok(())
    })?;
    writer.finish()?;
    tx.commit()?;
    let copy_s = started.elapsed().as_secs_f64();
    client.batch_execute(&sections["build_views"])?;
    Ok(LoadFigures {
        events,
        copy_s,
        build_s: started.elapsed().as_secs_f64() - copy_s,
    })
}

/// The parameters every query is prepared with.
pub struct QueryParams<'a> {
    pub tenant: &'a str,
    pub from_ms: i64,
    pub content: &'a str,
    pub min_watch_ms: i64,
    pub ranges: i32,
}

/// A prepared dashboard query.
pub fn prepare(client: &mut Client, section: &str) -> anyhow::Result<postgres::Statement> {
    let sql = sql_sections(SQL)
        .remove(section)
        .ok_or_else(|| anyhow::anyhow!("no section {section} in postgres.sql"))?;
    Ok(client.prepare_typed(
        &sql,
        &[Type::TEXT, Type::INT8, Type::TEXT, Type::INT8, Type::INT4],
    )?)
}

/// Runs a prepared query; its rows as JSON values.
pub fn run(
    client: &mut Client,
    statement: &postgres::Statement,
    p: &QueryParams<'_>,
) -> anyhow::Result<Rows> {
    let rows = client.query(
        statement,
        &[
            &p.tenant,
            &p.from_ms,
            &p.content,
            &p.min_watch_ms,
            &p.ranges,
        ],
    )?;
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    let t = row.columns()[i].type_();
                    Ok(if *t == Type::INT8 {
                        row.try_get::<_, Option<i64>>(i)?
                            .map_or(Value::Null, Value::from)
                    } else if *t == Type::INT4 {
                        row.try_get::<_, Option<i32>>(i)?
                            .map_or(Value::Null, Value::from)
                    } else if *t == Type::FLOAT8 {
                        row.try_get::<_, Option<f64>>(i)?
                            .map_or(Value::Null, Value::from)
                    } else if *t == Type::BOOL {
                        row.try_get::<_, Option<bool>>(i)?
                            .map_or(Value::Null, Value::from)
                    } else {
                        row.try_get::<_, Option<String>>(i)?
                            .map_or(Value::Null, Value::from)
                    })
                })
                .collect::<anyhow::Result<Vec<Value>>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lake_line_becomes_one_copy_line_with_escapes_and_nulls() {
        let line = r#"{"tenant_id":"acme","eid":"e\t1","type":"heartbeat","ts":5,"received_at":6,"key_id":"k","anonymous_id":"a\\b","duration_s":12.5,"played":[[0.0,10.0]],"props":{"plan":"pro"},"fatal":true}"#;
        let event: LakeEvent<'_> = serde_json::from_str(line).expect("event");
        let mut out = Vec::new();
        event.write_copy_line(&mut out);
        let text = String::from_utf8(out).expect("utf-8");
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), 47);
        assert_eq!(
            &fields[..8],
            ["acme", "e\\t1", "heartbeat", "5", "6", "k", "a\\\\b", "\\N"]
        );
        assert_eq!(fields[15], "12.5");
        assert_eq!(fields[24], "[[0.0,10.0]]");
        assert_eq!(fields[27], "true");
        assert_eq!(fields[32], r#"{"plan":"pro"}"#);
    }
}
