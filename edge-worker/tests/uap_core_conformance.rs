//! The uap-core reference test suites (../shared/testdata/uap-core-0.18.0: test_ua, test_os,
//! test_device) run through the worker's parser (uaparser + the pinned uap-core `regexes.yaml`, built
//! exactly as the worker builds it). Prints the mismatch count of each suite; fails on any mismatch
//! beyond the documented allowance.

use edge_worker::user_agent::{UaClassifier, UAP_CORE_REGEXES};
use serde::Deserialize;
use std::sync::OnceLock;
use uaparser::Parser;

#[derive(Deserialize)]
struct Suite {
    test_cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    user_agent_string: String,
    family: Option<String>,
    major: Option<String>,
    minor: Option<String>,
    patch: Option<String>,
    patch_minor: Option<String>,
    brand: Option<String>,
    model: Option<String>,
}

fn classifier() -> &'static UaClassifier {
    static CLASSIFIER: OnceLock<UaClassifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| UaClassifier::from_yaml(UAP_CORE_REGEXES).expect("rules load"))
}

fn suite(name: &str) -> Vec<Case> {
    let path = format!(
        "{}/../../shared/testdata/uap-core-0.18.0/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str::<Suite>(&text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .test_cases
}

fn norm(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(str::to_string)
}

fn report(name: &str, total: usize, mismatches: &[String]) {
    println!("{name}: {total} cases, {} mismatches", mismatches.len());
    for m in mismatches.iter().take(20) {
        println!("  {m}");
    }
}

#[test]
fn uap_core_user_agent_suite_matches() {
    let cases = suite("test_ua.yaml");
    let mut mismatches = Vec::new();
    for case in &cases {
        let ua = classifier()
            .parser()
            .parse_user_agent(&case.user_agent_string);
        let got = (
            Some(ua.family.to_string()),
            norm(ua.major.as_deref()),
            norm(ua.minor.as_deref()),
            norm(ua.patch.as_deref()),
        );
        let want = (
            case.family.clone(),
            norm(case.major.as_deref()),
            norm(case.minor.as_deref()),
            norm(case.patch.as_deref()),
        );
        if got != want {
            mismatches.push(format!(
                "{:?}: got {got:?}, want {want:?}",
                case.user_agent_string
            ));
        }
    }
    report("test_ua", cases.len(), &mismatches);
    assert!(
        mismatches.is_empty(),
        "{} user agent mismatches",
        mismatches.len()
    );
}

#[test]
fn uap_core_os_suite_matches() {
    let cases = suite("test_os.yaml");
    let mut mismatches = Vec::new();
    for case in &cases {
        let os = classifier().parser().parse_os(&case.user_agent_string);
        let got = (
            Some(os.family.to_string()),
            norm(os.major.as_deref()),
            norm(os.minor.as_deref()),
            norm(os.patch.as_deref()),
            norm(os.patch_minor.as_deref()),
        );
        let want = (
            case.family.clone(),
            norm(case.major.as_deref()),
            norm(case.minor.as_deref()),
            norm(case.patch.as_deref()),
            norm(case.patch_minor.as_deref()),
        );
        if got != want {
            mismatches.push(format!(
                "{:?}: got {got:?}, want {want:?}",
                case.user_agent_string
            ));
        }
    }
    report("test_os", cases.len(), &mismatches);
    assert!(mismatches.is_empty(), "{} OS mismatches", mismatches.len());
}

#[test]
fn uap_core_device_suite_matches() {
    let cases = suite("test_device.yaml");
    let mut mismatches = Vec::new();
    for case in &cases {
        let device = classifier().parser().parse_device(&case.user_agent_string);
        let got = (
            Some(device.family.to_string()),
            norm(device.brand.as_deref()),
            norm(device.model.as_deref()),
        );
        let want = (
            case.family.clone(),
            norm(case.brand.as_deref()),
            norm(case.model.as_deref()),
        );
        if got != want {
            mismatches.push(format!(
                "{:?}: got {got:?}, want {want:?}",
                case.user_agent_string
            ));
        }
    }
    report("test_device", cases.len(), &mismatches);
    assert!(
        mismatches.is_empty(),
        "{} device mismatches",
        mismatches.len()
    );
}
