//! `rollup-server`: pulls the edge's batch objects into embedded DuckDB on a schedule, and serves the
//! JWT-authenticated query API. Also mints tokens and API keys from the command line.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use event_schema::api_key::{is_valid_tenant_id, ApiKeyVerifier};
use rollup_server::api::auth::{Claims, Role, TokenAuthority};
use rollup_server::api::cors::CorsOrigins;
use rollup_server::pipeline::pull::{pull_once, SharedStore};
use rollup_server::pipeline::{pull, Pipeline, PullSettings};
use rollup_server::source::{DirLake, EdgeLake, Lake};
use rollup_server::store::Store;
use rollup_server::{api, clock, telemetry};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// mimalloc instead of glibc's malloc: loads and big answers allocate and free millions of small
/// strings and maps, where glibc spent a third of a large answer's time in malloc bookkeeping.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tapemetric rollup server: edge lake -> DuckDB -> query API.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// DuckDB database file.
    #[arg(
        long,
        global = true,
        env = "TAPEMETRIC_DB",
        default_value = "./tapemetric.duckdb"
    )]
    db: PathBuf,
    /// Base URL of the edge worker (its export routes reach the R2 lake).
    #[arg(
        long,
        global = true,
        env = "TAPEMETRIC_EDGE_URL",
        default_value = "http://127.0.0.1:8787"
    )]
    edge_url: String,
    /// Seconds before a request to the edge gives up (the pull fails; the next one retries).
    #[arg(
        long,
        global = true,
        env = "TAPEMETRIC_EDGE_TIMEOUT_S",
        default_value_t = 120
    )]
    edge_timeout_s: u64,
    /// Read batch objects from this directory (the lake layout, e.g. a bucket mirror or a generated
    /// dataset) instead of from the edge.
    #[arg(long, global = true, env = "TAPEMETRIC_LAKE_DIR")]
    lake_dir: Option<PathBuf>,
    /// Secret for signing and verifying JWTs.
    #[arg(long, global = true, env = "JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Secret shared with the edge for API key signatures.
    #[arg(long, global = true, env = "API_KEY_SECRET", hide_env_values = true)]
    api_key_secret: Option<String>,
    /// Secret for the edge's export routes.
    #[arg(long, global = true, env = "EXPORT_SECRET", hide_env_values = true)]
    export_secret: Option<String>,
    /// How far before the newest loaded object a pull looks for late objects, in hours.
    #[arg(long, global = true, default_value_t = 24)]
    lookback_hours: i64,
    /// Most batch objects loaded in one transaction (smaller: shorter transactions, more of them).
    #[arg(
        long,
        global = true,
        env = "TAPEMETRIC_CHUNK_OBJECTS",
        default_value_t = 2000
    )]
    chunk_objects: usize,
    /// Events older than this many days are deleted after each pull (with everything derived).
    #[arg(
        long,
        global = true,
        env = "TAPEMETRIC_RETENTION_DAYS",
        default_value_t = 60
    )]
    retention_days: i64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and pull new batches on a schedule.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "TAPEMETRIC_LISTEN", default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Seconds between scheduled pulls.
        #[arg(long, default_value_t = 300)]
        interval: u64,
        /// Browser origins allowed to call the API (CORS), comma-separated, e.g.
        /// `https://grafana.example.com,http://localhost:8080`; `*` allows any origin (tokens travel
        /// in the Authorization header, never in cookies).
        #[arg(long, env = "TAPEMETRIC_CORS_ORIGINS", value_delimiter = ',')]
        cors_origins: Vec<String>,
        /// Development only (`make dev` passes it): a file holding a token that the dashboard's
        /// sign-in field is filled in with. Refused unless listening on a loopback address.
        #[arg(long)]
        dev_token_file: Option<PathBuf>,
        /// Longest a query may run in DuckDB (viewers now, mave queries on custom props) before it
        /// is stopped and answered 503 with Retry-After.
        #[arg(long, env = "TAPEMETRIC_QUERY_BUDGET_MS", default_value_t = 5000)]
        query_budget_ms: u64,
    },
    /// Flush the edge and pull every new batch once, then exit.
    Ingest {
        /// Pull once and exit (the only mode; kept for clarity in scripts).
        #[arg(long)]
        once: bool,
    },
    /// Print a JWT for a tenant.
    Token {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value_t = Role::Viewer)]
        role: Role,
        /// Lifetime in hours (at most 744: the server refuses tokens living longer than 31 days).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(i64).range(0..=744))]
        ttl_hours: i64,
    },
    /// Print what the database holds per tenant (events, views, loaded objects) as JSON.
    Stats,
    /// Manage ingest API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Issue a new API key for a tenant and print it.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "default")]
        name: String,
    },
}

fn required(value: &Option<String>, flag: &str, env: &str) -> anyhow::Result<String> {
    match value {
        Some(v) if !v.is_empty() => Ok(v.clone()),
        _ => bail!("{flag} is required (or set {env}); for local runs `make dev` loads .dev.vars"),
    }
}

fn check_tenant(tenant: &str) -> anyhow::Result<()> {
    if !is_valid_tenant_id(tenant) {
        bail!("--tenant must be 1-64 lowercase letters, digits or `-`; got `{tenant}`");
    }
    Ok(())
}

/// The lake to pull from: `--lake-dir` if given, else the edge's export routes.
fn open_lake(cli: &Cli) -> anyhow::Result<Lake> {
    if let Some(dir) = &cli.lake_dir {
        if !dir.is_dir() {
            bail!("--lake-dir {} is not a directory", dir.display());
        }
        return Ok(Lake::Dir(DirLake::new(dir)));
    }
    let export = required(&cli.export_secret, "--export-secret", "EXPORT_SECRET")?;
    Ok(Lake::Edge(EdgeLake::new(
        &cli.edge_url,
        &export,
        Duration::from_secs(cli.edge_timeout_s.max(1)),
    )))
}

fn open_store(path: &Path) -> anyhow::Result<SharedStore> {
    let store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Arc::new(Mutex::new(store)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries command output (tokens, keys, reports) for scripts.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let lookback_ms = cli.lookback_hours.max(0) * 3_600_000;
    match &cli.command {
        Command::Token {
            tenant,
            role,
            ttl_hours,
        } => {
            check_tenant(tenant)?;
            let secret = required(&cli.jwt_secret, "--jwt-secret", "JWT_SECRET")?;
            let now_s = clock::now_ms() / 1000;
            let token = TokenAuthority::new(secret.as_bytes()).mint(&Claims {
                tenant: tenant.clone(),
                role: *role,
                iat: now_s,
                exp: now_s + ttl_hours * 3600,
                nbf: None,
            });
            println!("{token}");
        }
        Command::Keys {
            command: KeysCommand::Create { tenant, name },
        } => {
            check_tenant(tenant)?;
            let secret = required(&cli.api_key_secret, "--api-key-secret", "API_KEY_SECRET")?;
            let store =
                Store::open(&cli.db).with_context(|| format!("opening {}", cli.db.display()))?;
            let issued = api::issue_key_for_cli(
                &store,
                &ApiKeyVerifier::new(secret.as_bytes()),
                tenant,
                name,
                event_schema::key_policy::KeyRules::default(),
            )?;
            println!("{}", issued.key);
            eprintln!("key id {} for tenant {}", issued.key_id, issued.tenant_id);
        }
        Command::Stats => {
            let store =
                Store::open(&cli.db).with_context(|| format!("opening {}", cli.db.display()))?;
            println!("{}", serde_json::to_string_pretty(&store.stats()?)?);
        }
        Command::Ingest { once: _ } => {
            let store = open_store(&cli.db)?;
            let lake = open_lake(&cli)?;
            let started = std::time::Instant::now();
            let options = pull::PullOptions {
                flush_first: true,
                lookback_ms,
                chunk_objects: cli.chunk_objects,
            };
            let report = pull_once(&store, &lake, options).await?;
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "loaded {} events from {} objects in {seconds:.1} s ({:.0} events/s), {} duplicates skipped",
                report.events_loaded,
                report.objects_loaded,
                report.events_loaded as f64 / seconds.max(1e-9),
                report.duplicates_skipped
            );
            pull::expire_events(&store, cli.retention_days.max(1) * 86_400_000).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Serve {
            listen,
            interval,
            cors_origins,
            dev_token_file,
            query_budget_ms,
        } => {
            let dev_token = dev_token_file
                .as_deref()
                .map(|path| read_dev_token(path, listen))
                .transpose()?;
            let store = open_store(&cli.db)?;
            let readers = store
                .lock()
                .map_err(|_| anyhow::anyhow!("store lock poisoned"))?
                .readers(
                    rollup_server::store::readers::CONNECTIONS,
                    Duration::from_millis((*query_budget_ms).max(1)),
                )?;
            let telemetry = Arc::new(telemetry::Telemetry::default());
            let settings = PullSettings {
                lookback_ms,
                chunk_objects: cli.chunk_objects,
                retention_ms: cli.retention_days.max(1) * 86_400_000,
            };
            let pipeline = Arc::new(Pipeline::new(
                store,
                open_lake(&cli)?,
                settings,
                telemetry.clone(),
            ));
            let state = api::AppState {
                pipeline: pipeline.clone(),
                readers: Arc::new(readers),
                tokens: TokenAuthority::new(
                    required(&cli.jwt_secret, "--jwt-secret", "JWT_SECRET")?.as_bytes(),
                ),
                keys: ApiKeyVerifier::new(
                    required(&cli.api_key_secret, "--api-key-secret", "API_KEY_SECRET")?.as_bytes(),
                ),
                telemetry,
                cache: Arc::new(api::cache::QueryCache::default()),
                cors: Arc::new(CorsOrigins::parse(cors_origins).map_err(anyhow::Error::msg)?),
            };
            pipeline.read_all_views().await?;
            pipeline.spawn_schedule(Duration::from_secs((*interval).max(1)));
            pipeline.spawn_key_policy_sync();
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            tracing::info!(%listen, db = %cli.db.display(), edge = %cli.edge_url, interval_s = interval, "rollup server ready");
            let mut app = api::router(state);
            if let Some(token) = dev_token {
                tracing::warn!("the dashboard hands out a development token (--dev-token-file)");
                app = app.merge(api::dev_token_router(token));
            }
            serve_http(listener, app).await?;
        }
    }
    Ok(())
}

/// How long a client may take to send a request's headers before its connection is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` until Ctrl-C. Each connection gets [`HEADER_READ_TIMEOUT`] to send its headers (a
/// client dripping them would otherwise hold the connection forever). Bodies have no read timeout
/// yet.
async fn serve_http(listener: tokio::net::TcpListener, app: axum::Router) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let builder = Arc::new(builder);
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let (builder, service) = (builder.clone(), TowerToHyperService::new(app.clone()));
        tokio::spawn(async move {
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// Reads the `--dev-token-file` token; refuses to hand one out beyond this machine.
fn read_dev_token(path: &Path, listen: &SocketAddr) -> anyhow::Result<String> {
    if !listen.ip().is_loopback() {
        bail!("--dev-token-file is for local development: listen on 127.0.0.1, not {listen}");
    }
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("reading --dev-token-file {}", path.display()))?;
    let token = token.trim();
    if token.is_empty() {
        bail!("--dev-token-file {} is empty", path.display());
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::read_dev_token;

    #[test]
    fn dev_token_is_only_handed_out_on_loopback() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("token");
        std::fs::write(&file, "t0k\n").expect("write");
        let loopback = "127.0.0.1:3000".parse().expect("address");
        assert_eq!(read_dev_token(&file, &loopback).expect("read"), "t0k");
        let public = "0.0.0.0:3000".parse().expect("address");
        assert!(read_dev_token(&file, &public).is_err());
        std::fs::write(&file, "  \n").expect("write");
        assert!(read_dev_token(&file, &loopback).is_err());
    }
}
