//! Runs SQL statements against a rollup-server database file and prints each result with its time:
//! `cargo run --release -p rollup-server --example sql -- DB 'SQL' ['SQL' ...]`. For profiling
//! (`EXPLAIN ANALYZE ...`); the server must not be running on the same file.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = args.next().ok_or("usage: sql DB 'SQL' ['SQL' ...]")?;
    // Opening through the store first brings the schema up to date (and links the server crate,
    // which carries the C++ runtime DuckDB needs).
    drop(rollup_server::store::Store::open(std::path::Path::new(
        &db,
    ))?);
    let conn = duckdb::Connection::open(&db)?;
    for sql in args {
        let clock = Instant::now();
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let n = row.as_ref().column_count();
            let cells: Vec<String> = (0..n)
                .map(|i| match row.get_ref(i) {
                    Ok(v) => format!("{:?}", v.to_owned()),
                    Err(e) => format!("<{e}>"),
                })
                .collect();
            out.push(cells.join(" | "));
        }
        let ms = clock.elapsed().as_secs_f64() * 1e3;
        for line in out.iter().take(40) {
            println!("{}", line.replace("\\n", "\n"));
        }
        if out.len() > 40 {
            println!("... {} rows", out.len());
        }
        println!("-- {ms:.2} ms");
    }
    Ok(())
}
