//! Decoding figures (`cargo bench -p rollup-server --bench decode`): a generated lake of playback
//! events, timed per stage on one thread (gunzip, line parsing) and whole (`fold_objects` on one
//! and two threads). Decoding is most of a load's CPU; these say where an event's time goes.

use rollup_server::decode::line::LineParser;
use rollup_server::fold::fold_objects;
use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, Instant};

const EVENTS: u64 = 200_000;
const RUNS: usize = 11;

fn best(mut run: impl FnMut() -> usize) -> (Duration, usize) {
    let mut fastest = Duration::MAX;
    let mut out = 0;
    for _ in 0..RUNS {
        let clock = Instant::now();
        out = std::hint::black_box(run());
        fastest = fastest.min(clock.elapsed());
    }
    (fastest, out)
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let now_ms = 1_790_000_000_000;
    let generated = lake_gen::generate(
        &lake_gen::Config {
            seed: 7,
            tenants: ["acme", "globex", "initech"].map(String::from).to_vec(),
            events: EVENTS,
            days: 30,
            now_ms,
            contents: 500,
            viewers: 20_000,
            object_events: 20_000,
            keep_truth: false,
            store_user_agent: vec!["globex".into()],
        },
        dir.path(),
    )?;
    let mut objects = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else if entry.path().extension().is_some_and(|e| e == "gz") {
                objects.push(std::fs::read(entry.path())?);
            }
        }
    }
    let blobs: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
    let texts: Vec<Vec<u8>> = blobs
        .iter()
        .map(|gz| {
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(*gz).read_to_end(&mut text)?;
            Ok(text)
        })
        .collect::<std::io::Result<_>>()?;
    let lines: usize = texts
        .iter()
        .map(|t| t.iter().filter(|&&b| b == b'\n').count())
        .sum();
    let text_bytes: usize = texts.iter().map(Vec::len).sum();
    let gzip_bytes: usize = blobs.iter().map(|b| b.len()).sum();
    println!(
        "decoding {} objects: {lines} lines ({} written), {:.1} MB of NDJSON, {:.1} MB gzip; best of {RUNS}",
        blobs.len(),
        generated.events_written,
        text_bytes as f64 / 1e6,
        gzip_bytes as f64 / 1e6
    );
    let per_line = |d: Duration| d.as_secs_f64() * 1e9 / lines as f64;
    let report = |name: &str, d: Duration| {
        println!(
            "  {name:<34} {:>8.0} ns/event {:>8.0} MB/s of NDJSON {:>9.0} k events/s",
            per_line(d),
            text_bytes as f64 / d.as_secs_f64() / 1e6,
            lines as f64 / d.as_secs_f64() / 1e3
        );
    };
    let (gunzip, _) = best(|| {
        let mut out = Vec::new();
        let mut total = 0;
        let mut d = libdeflater::Decompressor::new();
        for (gz, text) in blobs.iter().zip(&texts) {
            out.resize(text.len(), 0);
            total += d.gzip_decompress(gz, &mut out).expect("gzip");
        }
        total
    });
    report("gunzip (libdeflate, 1 thread)", gunzip);
    let (parse, parsed) = best(|| {
        let mut n = 0;
        let mut parser = LineParser::default();
        for text in &texts {
            let mut events = Vec::with_capacity(1);
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', text) {
                n += usize::from(parser.push_line(&text[start..end], &mut events));
                events.clear();
                start = end + 1;
            }
        }
        n
    });
    assert_eq!(parsed, lines, "every generated line parses");
    report("parse lines (1 thread)", parse);
    for threads in [1, 2] {
        let (whole, _) = best(|| {
            fold_objects(&blobs, &HashSet::new(), threads, None)
                .per_object
                .len()
        });
        report(
            &format!(
                "fold_objects ({threads} thread{})",
                if threads > 1 { "s" } else { "" }
            ),
            whole,
        );
    }
    Ok(())
}
