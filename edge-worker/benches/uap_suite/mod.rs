//! Real user agents for the benchmarks: the distinct UA strings of uap-core's test suite
//! (`test_ua.yaml`, in ../shared/testdata beside the repository).

/// Up to `count` distinct UA strings from uap-core's `test_ua.yaml`, in file order (one Chrome UA if
/// the suite is missing).
pub fn real_user_agents(count: usize) -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata/uap-core-0.18.0/test_ua.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut uas: Vec<String> = Vec::new();
    for line in text.lines() {
        if uas.len() == count {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("- user_agent_string:") {
            let ua = rest.trim().trim_matches('\'').trim_matches('"').to_string();
            if !ua.is_empty() && seen.insert(ua.clone()) {
                uas.push(ua);
            }
        }
    }
    if uas.is_empty() {
        uas.push("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36".into());
    }
    uas
}
