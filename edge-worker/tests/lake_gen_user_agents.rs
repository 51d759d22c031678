//! lake-gen writes real UA strings with the fields it says the edge stores for them
//! (lake-gen/src/user_agents.rs): this classifier, built exactly as the worker builds it, must store
//! exactly those fields for every one, and every string must come from uap-core's test suites
//! (../shared/testdata/uap-core-0.18.0).

use edge_worker::user_agent::{UaClassifier, UAP_CORE_REGEXES};
use lake_gen::user_agents::USER_AGENTS;
use std::collections::HashSet;

#[test]
fn every_lake_gen_user_agent_is_stored_as_the_edge_stores_it() {
    let classifier = UaClassifier::from_yaml(UAP_CORE_REGEXES).expect("rules load");
    let mut mismatches = Vec::new();
    for row in &USER_AGENTS {
        let got = classifier.classify(row.user_agent);
        if got != row.fields() {
            mismatches.push(format!(
                "{:?}:\n  edge     {got:?}\n  lake-gen {:?}",
                row.user_agent,
                row.fields()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_lake_gen_user_agent_comes_from_uap_cores_test_suites() {
    let mut suites = HashSet::new();
    for name in ["test_ua.yaml", "test_os.yaml", "test_device.yaml"] {
        let path = format!(
            "{}/../../shared/testdata/uap-core-0.18.0/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let suite: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        for case in suite["test_cases"].as_sequence().into_iter().flatten() {
            if let Some(ua) = case["user_agent_string"].as_str() {
                suites.insert(ua.to_string());
            }
        }
    }
    let strange: Vec<&str> = USER_AGENTS
        .iter()
        .map(|row| row.user_agent)
        .filter(|ua| !suites.contains(*ua))
        .collect();
    assert!(strange.is_empty(), "not in uap-core's suites: {strange:?}");
    let distinct: HashSet<&str> = USER_AGENTS.iter().map(|row| row.user_agent).collect();
    assert_eq!(distinct.len(), USER_AGENTS.len(), "each string once");
}
