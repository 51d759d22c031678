//! `lake-gen`: writes a synthetic playback dataset in the R2 lake layout.

use clap::Parser;
use std::path::PathBuf;

/// Write a synthetic, realistic playback dataset (gzip NDJSON batch objects in the lake layout).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Directory to write the lake into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Events to write (duplicates from retries included).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Tenants, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "acme,globex,initech,umbrella,hooli"
    )]
    tenants: Vec<String>,
    /// Tenants whose key keeps the full UA string (`store_user_agent`), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "globex")]
    store_user_agent: Vec<String>,
    /// Days before now that views start in.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Contents in the catalogue.
    #[arg(long, default_value_t = 500)]
    contents: u64,
    /// Anonymous viewers per tenant.
    #[arg(long, default_value_t = 50_000)]
    viewers: u64,
    /// Events per batch object at most.
    #[arg(long, default_value_t = 20_000)]
    object_events: usize,
    /// Seed (the same seed writes the same dataset).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let started = std::time::Instant::now();
    eprintln!(
        "writing {} events into {} ...",
        args.events,
        args.out.display()
    );
    let generated = lake_gen::generate(
        &lake_gen::Config {
            seed: args.seed,
            tenants: args.tenants,
            events: args.events,
            days: args.days,
            now_ms,
            contents: args.contents,
            viewers: args.viewers,
            object_events: args.object_events,
            keep_truth: false,
            store_user_agent: args.store_user_agent,
        },
        &args.out,
    )?;
    println!(
        "{} events ({} distinct) in {} objects, {:.1} MB gzipped, in {:.1} s",
        generated.events_written,
        generated.distinct_events,
        generated.objects,
        generated.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let people = (generated.views - generated.bot_views).max(1);
    println!(
        "{} views ({} of bots); {:.1} % of the others seek",
        generated.views,
        generated.bot_views,
        100.0 * generated.seek_views as f64 / people as f64
    );
    Ok(())
}
