//! Peak memory of a set of processes and their descendants (a PostgreSQL cluster is many processes
//! sharing memory): the sum of their proportional set sizes (PSS, shared pages split between their
//! users), sampled every 100 ms.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Samples until stopped; [`PssSampler::stop`] answers the peak in MB.
pub struct PssSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
}

impl PssSampler {
    /// Starts sampling the processes `roots` and all their descendants.
    pub fn start(roots: Vec<u32>) -> PssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut peak_kb = 0;
            loop {
                peak_kb = peak_kb.max(tree_pss_kb(&roots));
                if flag.load(Ordering::Relaxed) {
                    return peak_kb;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        PssSampler { stop, handle }
    }

    /// Stops sampling; the peak summed PSS in MB.
    pub fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(0) as f64 / 1024.0
    }
}

/// The parent of every process, from /proc/<pid>/stat.
fn parents() -> HashMap<u32, u32> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        if let Some(ppid) = ppid {
            out.insert(pid, ppid);
        }
    }
    out
}

fn pss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Summed PSS of `roots` and their descendants, in kB.
fn tree_pss_kb(roots: &[u32]) -> u64 {
    let parents = parents();
    parents
        .keys()
        .filter(|&&pid| {
            let mut at = pid;
            for _ in 0..64 {
                if roots.contains(&at) {
                    return true;
                }
                match parents.get(&at) {
                    Some(&p) if p != 0 && p != at => at = p,
                    _ => return false,
                }
            }
            false
        })
        .map(|&pid| pss_kb(pid))
        .sum()
}
