//! User agent enrichment with the `uaparser` crate and the uap-core rules (`regexes.yaml` from the
//! pinned npm package `uap-core`), plus a per-isolate LRU cache so repeated UA strings never re-run
//! the regexes.

use event_schema::UserAgentFields;
use std::collections::HashMap;
use uaparser::{Parser, UserAgentParser};

/// The uap-core rules shipped with the worker (npm `uap-core`, pinned in package.json).
pub const UAP_CORE_REGEXES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../node_modules/uap-core/regexes.yaml"
));

/// How many distinct UA strings one isolate remembers.
pub const UA_CACHE_ENTRIES: usize = 2048;

/// Why the parser could not be built.
#[derive(Debug, thiserror::Error)]
#[error("uap-core rules could not be loaded: {0}")]
pub struct UaRulesError(String);

/// Parses user agents into the contract's dimensions.
pub struct UaClassifier {
    parser: UserAgentParser,
}

impl UaClassifier {
    /// Builds the parser from uap-core's `regexes.yaml` (70-360 ms natively: build once per isolate).
    pub fn from_yaml(regexes: &[u8]) -> Result<UaClassifier, UaRulesError> {
        let parser = UserAgentParser::builder()
            .with_unicode_support(false)
            .build_from_bytes(regexes)
            .map_err(|e| UaRulesError(format!("{e:?}")))?;
        Ok(UaClassifier { parser })
    }

    /// The raw uap-core answer (family, major, minor, patch for UA and OS; family, brand, model for
    /// the device), for conformance tests against uap-core's suites.
    pub fn parser(&self) -> &UserAgentParser {
        &self.parser
    }

    /// Parses one UA string into the stored fields.
    pub fn classify(&self, user_agent: &str) -> UserAgentFields {
        let client = self.parser.parse(user_agent);
        let browser = known(&client.user_agent.family);
        let os = known(&client.os.family);
        let device_family = client.device.family.to_string();
        let device_brand = client.device.brand.as_deref().and_then(known);
        let device_model = client.device.model.as_deref().and_then(known);
        let device_type = device_type(
            &device_family,
            device_brand.as_deref(),
            os.as_deref(),
            user_agent,
        );
        UserAgentFields {
            browser_version: browser.as_ref().and_then(|_| {
                version(&[
                    client.user_agent.major.as_deref(),
                    client.user_agent.minor.as_deref(),
                    client.user_agent.patch.as_deref(),
                ])
            }),
            browser,
            os_version: os.as_ref().and_then(|_| {
                version(&[
                    client.os.major.as_deref(),
                    client.os.minor.as_deref(),
                    client.os.patch.as_deref(),
                ])
            }),
            os,
            device_type: Some(device_type.to_string()),
            device_brand,
            device_model,
            // The full string is never kept here; only keys that opted in get it, at the buffer.
            user_agent: None,
        }
    }
}

fn known(family: &str) -> Option<String> {
    (!family.is_empty() && family != "Other").then(|| family.to_string())
}

fn version(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts
        .iter()
        .map_while(|p| *p)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// desktop | mobile | tablet | tv | console | bot | other, from uap-core's device and OS families.
pub fn device_type(
    device_family: &str,
    brand: Option<&str>,
    os: Option<&str>,
    user_agent: &str,
) -> &'static str {
    let family = device_family.to_ascii_lowercase();
    let ua = user_agent.to_ascii_lowercase();
    if family == "spider" {
        return "bot";
    }
    if ["playstation", "xbox", "nintendo", "ouya"]
        .iter()
        .any(|c| family.contains(c) || ua.contains(c))
    {
        return "console";
    }
    if [
        "smart-tv",
        "smarttv",
        "smart tv",
        "appletv",
        "apple tv",
        "googletv",
        "roku",
        "bravia",
        "hbbtv",
        "tizen tv",
        "webos tv",
        "aftb",
        "aftt",
        "aftm",
        "crkey",
        "android tv",
    ]
    .iter()
    .any(|t| family.contains(t) || ua.contains(t))
        || brand == Some("Roku")
    {
        return "tv";
    }
    if family.contains("ipad")
        || family.contains("tablet")
        || family.contains("kindle")
        || ua.contains("tablet")
    {
        return "tablet";
    }
    match os {
        Some("Android") if !ua.contains("mobile") && family != "generic smartphone" => "tablet",
        Some("iOS" | "Android" | "Windows Phone" | "BlackBerry OS" | "KaiOS" | "Symbian OS") => {
            "mobile"
        }
        Some(
            "Windows" | "Mac OS X" | "Linux" | "Ubuntu" | "Chrome OS" | "ChromeOS" | "Fedora"
            | "FreeBSD" | "Debian" | "OpenBSD",
        ) => "desktop",
        _ if family.contains("smartphone")
            || family.contains("iphone")
            || ua.contains("mobile") =>
        {
            "mobile"
        }
        _ => "other",
    }
}

/// A least-recently-used cache of classified UA strings, one per isolate.
pub struct UaCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (u64, UserAgentFields)>,
}

impl UaCache {
    /// An empty cache holding at most `capacity` UA strings.
    pub fn new(capacity: usize) -> UaCache {
        UaCache {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::with_capacity(capacity.max(1)),
        }
    }

    /// The fields for `user_agent`, classifying it only on its first sighting.
    pub fn get_or_classify(
        &mut self,
        classifier: &UaClassifier,
        user_agent: &str,
    ) -> UserAgentFields {
        self.tick += 1;
        if let Some((used, fields)) = self.entries.get_mut(user_agent) {
            *used = self.tick;
            return fields.clone();
        }
        let fields = classifier.classify(user_agent);
        if self.entries.len() >= self.capacity {
            // Evict the least recently used entry. A linear scan on a miss is cheap beside the regexes.
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries
            .insert(user_agent.to_string(), (self.tick, fields.clone()));
        fields
    }

    /// How many UA strings are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn classifier() -> &'static UaClassifier {
        static CLASSIFIER: OnceLock<UaClassifier> = OnceLock::new();
        CLASSIFIER.get_or_init(|| UaClassifier::from_yaml(UAP_CORE_REGEXES).expect("rules load"))
    }

    const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    const GOOGLEBOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1";

    #[test]
    fn desktop_chrome_is_classified() {
        let f = classifier().classify(CHROME_LINUX);
        assert_eq!(f.browser.as_deref(), Some("Chrome"));
        assert_eq!(f.browser_version.as_deref(), Some("131.0.0"));
        assert_eq!(f.os.as_deref(), Some("Linux"));
        assert_eq!(f.device_type.as_deref(), Some("desktop"));
    }

    #[test]
    fn iphone_is_mobile_and_ipad_is_tablet() {
        let phone = classifier().classify(IPHONE);
        assert_eq!(phone.device_type.as_deref(), Some("mobile"));
        assert_eq!(phone.device_brand.as_deref(), Some("Apple"));
        assert_eq!(
            classifier().classify(IPAD).device_type.as_deref(),
            Some("tablet")
        );
    }

    #[test]
    fn crawlers_are_bots() {
        assert_eq!(
            classifier().classify(GOOGLEBOT).device_type.as_deref(),
            Some("bot")
        );
    }

    #[test]
    fn cache_evicts_the_least_recently_used() {
        let mut cache = UaCache::new(2);
        cache.get_or_classify(classifier(), CHROME_LINUX);
        cache.get_or_classify(classifier(), IPHONE);
        cache.get_or_classify(classifier(), CHROME_LINUX); // refresh
        cache.get_or_classify(classifier(), IPAD); // evicts IPHONE
        assert_eq!(cache.len(), 2);
        assert!(cache.entries.contains_key(CHROME_LINUX));
        assert!(!cache.entries.contains_key(IPHONE));
    }
}
