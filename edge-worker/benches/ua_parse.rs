//! UA parsing cost: ours (`UaClassifier::classify`: the `uaparser` crate on uap-core's rules, plus the
//! device type) beside the `ua-parser` crate (uap-rust, the uap-core project's reference Rust
//! implementation) on the same rules and the same UAs: every distinct UA of uap-core's test suite,
//! parsed uncached (browser, OS and device). Prints figures; asserts nothing.

use edge_worker::user_agent::{UaClassifier, UAP_CORE_REGEXES};
use std::time::Instant;
use uap_suite::real_user_agents;

mod uap_suite;

/// Passes over the suite; the figure is the median pass.
const PASSES: usize = 5;

/// Median over `PASSES` of the µs per UA that `parse` takes over `uas`.
fn us_per_ua(uas: &[String], mut parse: impl FnMut(&str)) -> f64 {
    let mut passes: Vec<f64> = (0..PASSES)
        .map(|_| {
            let t = Instant::now();
            for ua in uas {
                parse(ua);
            }
            t.elapsed().as_secs_f64() * 1e6 / uas.len() as f64
        })
        .collect();
    passes.sort_by(f64::total_cmp);
    passes[PASSES / 2]
}

fn main() {
    let uas = real_user_agents(usize::MAX);

    let t = Instant::now();
    let ours = UaClassifier::from_yaml(UAP_CORE_REGEXES).expect("uap-core rules load");
    let ours_build_ms = t.elapsed().as_secs_f64() * 1e3;
    let ours_us = us_per_ua(&uas, |ua| {
        std::hint::black_box(ours.classify(ua));
    });

    let t = Instant::now();
    let regexes: ua_parser::Regexes<'_> =
        serde_yaml::from_slice(UAP_CORE_REGEXES).expect("uap-core rules parse");
    let reference = ua_parser::Extractor::try_from(regexes).expect("uap-core rules compile");
    let reference_build_ms = t.elapsed().as_secs_f64() * 1e3;
    let reference_us = us_per_ua(&uas, |ua| {
        std::hint::black_box(reference.extract(ua));
    });

    println!(
        "UA parsing, {} distinct UAs of uap-core's test suite, uncached, median of {PASSES} passes:",
        uas.len()
    );
    println!(
        "  ours (uaparser + device type)  {ours_us:>8.2} us/UA   rules build {ours_build_ms:>6.0} ms"
    );
    println!(
        "  ua-parser crate (uap-rust)     {reference_us:>8.2} us/UA   rules build {reference_build_ms:>6.0} ms   ours/reference {:.2}",
        ours_us / reference_us
    );
}
