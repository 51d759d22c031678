//! Real user agents for the generated views, with the fields the edge stores for each.
//!
//! Every string is copied from uap-core 0.18.0's test suites (`test_ua.yaml`, `test_os.yaml`,
//! `test_device.yaml`, in ../shared/testdata/uap-core-0.18.0), so each is a UA seen in the wild, and
//! embedded here so that generating needs no file beside the checkout.
//!
//! How the fields were derived: the edge turns uaparser's answer into the stored fields (family
//! `Other` is unknown, versions joined with dots, `device_type` from the device and OS families) in
//! `edge-worker/src/user_agent.rs`, which is no shared crate, so lake-gen cannot reuse it. Instead each
//! row holds what the edge's own classifier stores for its string (the suites list an expected browser,
//! OS and device for few strings each; the classifier agrees with every expectation they do list,
//! `edge-worker/tests/uap_core_conformance.rs`), and `edge-worker/tests/lake_gen_user_agents.rs` runs
//! the edge's classifier over every row and fails on any difference, so the rows cannot drift from the
//! edge's rules.
//!
//! The weights make a video site's mix: about 41 % desktop (Chrome, Edge, Safari, Firefox on Windows
//! and macOS first), 58 % phones and tablets (Chrome Mobile and Samsung Internet on Android, Mobile
//! Safari and in-app web views on iOS), and a tail of TVs, consoles, feature phones and unknown
//! browsers. Crawlers are drawn only for bot views.

use crate::Rng;
use event_schema::UserAgentFields;

/// One real UA string and what the edge stores for it.
#[derive(Debug, PartialEq, Eq)]
pub struct UserAgent {
    /// Relative share of human views (of bot views, for crawlers).
    pub weight: u32,
    /// The full string (stored only for tenants that opted in, `store_user_agent`).
    pub user_agent: &'static str,
    pub browser: Option<&'static str>,
    pub browser_version: Option<&'static str>,
    pub os: Option<&'static str>,
    pub os_version: Option<&'static str>,
    /// desktop | mobile | tablet | tv | console | bot | other
    pub device_type: &'static str,
    pub device_brand: Option<&'static str>,
    pub device_model: Option<&'static str>,
}

impl UserAgent {
    /// A crawler (the edge stores it, views leave it out).
    pub fn is_bot(&self) -> bool {
        self.device_type == "bot"
    }

    /// The fields the edge adds to each event of a request with this UA (the full string is added
    /// separately, at the buffer, for keys that opted in).
    pub fn fields(&self) -> UserAgentFields {
        let owned = |v: Option<&str>| v.map(str::to_string);
        UserAgentFields {
            browser: owned(self.browser),
            browser_version: owned(self.browser_version),
            os: owned(self.os),
            os_version: owned(self.os_version),
            device_type: Some(self.device_type.to_string()),
            device_brand: owned(self.device_brand),
            device_model: owned(self.device_model),
            user_agent: None,
        }
    }
}

/// Draws user agents by weight: people from the human rows, crawlers from the bot rows.
#[derive(Debug)]
pub struct UserAgentMix {
    /// (running total of weights, row), per kind.
    humans: Vec<(u64, &'static UserAgent)>,
    bots: Vec<(u64, &'static UserAgent)>,
}

impl Default for UserAgentMix {
    fn default() -> UserAgentMix {
        let running = |bot: bool| {
            let mut total = 0u64;
            USER_AGENTS
                .iter()
                .filter(|ua| ua.is_bot() == bot && ua.weight > 0)
                .map(|ua| {
                    total += u64::from(ua.weight);
                    (total, ua)
                })
                .collect()
        };
        UserAgentMix {
            humans: running(false),
            bots: running(true),
        }
    }
}

impl UserAgentMix {
    /// A person's browser.
    pub fn human(&self, rng: &mut Rng) -> &'static UserAgent {
        Self::draw(&self.humans, rng)
    }

    /// A crawler.
    pub fn bot(&self, rng: &mut Rng) -> &'static UserAgent {
        Self::draw(&self.bots, rng)
    }

    fn draw(rows: &[(u64, &'static UserAgent)], rng: &mut Rng) -> &'static UserAgent {
        let total = rows.last().map_or(0, |(t, _)| *t);
        let x = rng.below(total);
        let i = rows.partition_point(|(running, _)| *running <= x);
        rows[i.min(rows.len() - 1)].1
    }
}

const fn known(value: &'static str) -> Option<&'static str> {
    if value.is_empty() {
        None
    } else {
        Some(value)
    }
}

/// A row: weight, UA string, then browser, browser version, OS, OS version, device type, device
/// brand and device model as the edge stores them ("" = not stored).
#[allow(clippy::too_many_arguments)]
const fn ua(
    weight: u32,
    user_agent: &'static str,
    browser: &'static str,
    browser_version: &'static str,
    os: &'static str,
    os_version: &'static str,
    device_type: &'static str,
    device_brand: &'static str,
    device_model: &'static str,
) -> UserAgent {
    UserAgent {
        weight,
        user_agent,
        browser: known(browser),
        browser_version: known(browser_version),
        os: known(os),
        os_version: known(os_version),
        device_type,
        device_brand: known(device_brand),
        device_model: known(device_model),
    }
}

/// The user agents views are drawn from (weights in millionths of human views; crawlers share the
/// bot views evenly).
#[rustfmt::skip]
pub static USER_AGENTS: [UserAgent; 165] = [
    // Chrome, Windows: 16.5 % of human views
    ua(165000, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.106 Safari/537.36 CitrixChromeApp", "Chrome", "68.0.3440", "Windows", "10", "desktop", "", ""),
    // Chrome, macOS: 5.0 % of human views
    ua(12500, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.78 Safari/537.36", "Chrome", "60.0.3112", "Mac OS X", "10.12.6", "desktop", "Apple", "Mac"),
    ua(12500, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112 Safari/537.36", "Chrome", "60.0.3112", "Mac OS X", "10.12.6", "desktop", "Apple", "Mac"),
    ua(12500, "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_11_6)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/52.0.2743.116+Safari/537.36", "Chrome", "52.0.2743", "Mac OS X", "10.11.6", "desktop", "", ""),
    ua(12500, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.87 Safari/537.36", "Chrome", "80.0.3987", "Mac OS X", "10.15.3", "desktop", "Apple", "Mac"),
    // Chrome, Chrome OS: 1.0 % of human views
    ua(5000, "Mozilla/5.0 (X11; Windows aarch64 10718.88.2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.118 Safari/537.36 CitrixChromeApp", "Chrome", "68.0.3440", "Chrome OS", "10718.88.2", "desktop", "", ""),
    ua(5000, "Mozilla/5.0 (X11; Windows x86_64 10718.88.2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.118 Safari/537.36 CitrixChromeApp", "Chrome", "68.0.3440", "Chrome OS", "10718.88.2", "desktop", "", ""),
    // Edge, Windows: 6.0 % of human views
    ua(12000, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.9600", "Edge", "12.9600", "Windows", "10", "desktop", "", ""),
    ua(12000, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12", "Edge", "12", "Windows", "10", "desktop", "", ""),
    ua(12000, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3763.0 Safari/537.36 Edg/75.0.131.0", "Edge", "75.0.131", "Windows", "10", "desktop", "", ""),
    ua(12000, "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.71 Safari/537.36 Edge/12.0", "Edge", "12.0", "Windows", "10", "desktop", "", ""),
    ua(12000, "Mozilla/5.0 (Windows NT 6.4; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36 Edge/12.0", "Edge", "12.0", "Windows", "10", "desktop", "", ""),
    // Firefox, Windows: 3.5 % of human views
    ua(17500, "Mozilla/5.0 (Windows NT 6.4; WOW64; rv:36.0) Gecko/20100101 Firefox/36.0", "Firefox", "36.0", "Windows", "10", "desktop", "", ""),
    ua(17500, "Mozilla/5.0 (Windows NT 4.0; rv:52.0) Gecko/20100101 Firefox/52.0", "Firefox", "52.0", "Windows", "NT", "desktop", "", ""),
    // Firefox, macOS: 0.8 % of human views
    ua(8000, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:73.0) Gecko/20100101 Firefox/73.0", "Firefox", "73.0", "Mac OS X", "10.15", "desktop", "Apple", "Mac"),
    // Firefox, Linux: 0.7 % of human views
    ua(3500, "Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.12) Gecko/20101027 Ubuntu/10.04 (lucid) Firefox/3.6.12", "Firefox", "3.6.12", "Ubuntu", "10.04", "desktop", "", ""),
    ua(3500, "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.2.10) Gecko/20100923 Caixa Magica Linux/1.9.2.10-0.1xcm15 (15) Firefox/3.6.10,gzip(gfe),gzip(gfe)", "Firefox", "3.6.10", "Linux", "", "desktop", "", ""),
    // Safari, macOS: 5.0 % of human views
    ua(16667, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Safari/605.1.15", "Safari", "13.0.5", "Mac OS X", "10.15.3", "desktop", "Apple", "Mac"),
    ua(16667, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Safari/605.1.15", "Safari", "12.1.2", "Mac OS X", "10.14.6", "desktop", "Apple", "Mac"),
    ua(16667, "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_5; en-us) AppleWebKit/533.18.1 (KHTML, like Gecko) Version/5.0.2 Safari/533.18.5", "Safari", "5.0.2", "Mac OS X", "10.6.5", "desktop", "Apple", "Mac"),
    // Opera, desktop: 1.0 % of human views
    ua(5000, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/28.0.1500.20 Safari/537.36 OPR/15.0.1147.18 (Edition Next)", "Opera", "15.0.1147", "Mac OS X", "10.7.5", "desktop", "Apple", "Mac"),
    ua(5000, "Opera/9.80 (Windows NT 5.1; U; ru) Presto/2.5.24 Version/10.53", "Opera", "10.53", "Windows", "XP", "desktop", "", ""),
    // Brave, Vivaldi, Yandex, Chromium desktop: 0.8 % of human views
    ua(1600, "Mozilla/5.0 (X11; U; Linux i686; en-US) AppleWebKit/534.16 (KHTML, like Gecko) Ubuntu/10.10 Chromium/10.0.648.133 Chrome/10.0.648.133 Safari/534.16", "Chromium", "10.0.648", "Ubuntu", "10.10", "desktop", "", ""),
    ua(1600, "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.4 (KHTML, like Gecko) Chrome/22.0.1104.222 YaBrowser/1.5.1104.222 Safari/537.4", "Yandex Browser", "1.5.1104", "Windows", "7", "desktop", "", ""),
    ua(1600, "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/40.0.2214.89 Vivaldi/1.0.83.38 Safari/537.36", "Vivaldi", "1.0.83", "Windows", "7", "desktop", "", ""),
    ua(1600, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_2) AppleWebKit/537.36 (KHTML, like Gecko) brave/0.7.11 Chrome/47.0.2526.110 Brave/0.36.5 Safari/537.36", "Brave", "0.7.11", "Mac OS X", "10.11.2", "desktop", "Apple", "Mac"),
    ua(1600, "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) brave/0.7.10 Chrome/47.0.2526.110 Brave/0.36.5 Safari/537.36", "Brave", "0.7.10", "Windows", "8.1", "desktop", "", ""),
    // IE 11, Windows: 0.4 % of human views
    ua(2000, "Mozilla/5.0 (Windows NT 6.3; Win64; x64; Trident/7.0; rv:11.0) like Gecko", "IE", "11.0", "Windows", "8.1", "desktop", "", ""),
    ua(2000, "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko", "IE", "11.0", "Windows", "10", "desktop", "", ""),
    // HeadlessChrome: 0.1 % of human views
    ua(1000, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome Safari/537.36", "HeadlessChrome", "", "Linux", "", "desktop", "", ""),
    // Chrome Mobile, Android phone: 20.0 % of human views
    ua(8696, "Mozilla/5.0 (Linux; Android 9; motorola one power) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0.3626.96 Mobile Safari/537.36", "Chrome Mobile", "72.0.3626", "Android", "9", "mobile", "Motorola", "rola one power"),
    ua(8696, "Mozilla/5.0 (Linux; Android 10; SM-G970F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3396.81 Mobile Safari/537.36", "Chrome Mobile", "75.0.3396", "Android", "10", "mobile", "Samsung", "SM-G970F"),
    ua(8696, "Mozilla/5.0 (Linux; Android 9; Pixel Build/PPP3.180510.008) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.81 Mobile Safari/537.36", "Chrome Mobile", "67.0.3396", "Android", "9", "mobile", "Google", "Pixel"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.1.0; itel A32F Build/O11019) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.132 Mobile Safari/537.36", "Chrome Mobile", "80.0.3987", "Android", "8.1.0", "mobile", "Itel", "A32F"),
    ua(8696, "Mozilla/5.0 (Linux; Android 9; itel L6002P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.162 Mobile Safari/537.36", "Chrome Mobile", "80.0.3987", "Android", "9", "mobile", "Itel", "L6002P"),
    ua(8696, "Mozilla/5.0 (Linux; Android 9; TA-1053) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Mobile Safari/537.36", "Chrome Mobile", "78.0.3904", "Android", "9", "mobile", "Nokia", "TA-1053"),
    ua(8696, "Mozilla/5.0 (Linux; Android 9; CPH2035) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.132 Mobile Safari/537.36", "Chrome Mobile", "80.0.3987", "Android", "9", "mobile", "Oppo", "CPH2035"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.0.0; SM-G9500) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.110 Mobile Safari/537.36", "Chrome Mobile", "70.0.3538", "Android", "8.0.0", "mobile", "Samsung", "SM-G9500"),
    ua(8696, "Mozilla/5.0 (Linux; Android 9; Mi A2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "9", "mobile", "XiaoMi", "Mi A2"),
    ua(8696, "Mozilla/5.0 (Linux; Android 9; ONEPLUS A5010) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3770.89 Mobile Safari/537.36", "Chrome Mobile", "75.0.3770", "Android", "9", "mobile", "OnePlus", "ONEPLUS A5010"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.1.0; Pixel Build/OPM1.171019.012) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.137 Mobile Safari/537.36", "Chrome Mobile", "64.0.3282", "Android", "8.1.0", "mobile", "Google", "Pixel"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.0.0; ANE-LX1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "8.0.0", "mobile", "Huawei", "ANE-LX1"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.0.0; PRA-LX1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "8.0.0", "mobile", "Huawei", "PRA-LX1"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.0.0; LDN-L21) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "8.0.0", "mobile", "Huawei", "LDN-L21"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.0.0; ATU-L21) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "8.0.0", "mobile", "Huawei", "ATU-L21"),
    ua(8696, "Mozilla/5.0 (Linux; Android 8.0.0; RNE-L21) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "8.0.0", "mobile", "Huawei", "RNE-L21"),
    ua(8696, "Mozilla/5.0 (Linux; Android 7.0; EVA-L09) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "7.0", "mobile", "Huawei", "EVA-L09"),
    ua(8696, "Mozilla/5.0 (Linux; Android 7.1.1; SM-J510FN) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "7.1.1", "mobile", "Samsung", "SM-J510FN"),
    ua(8696, "Mozilla/5.0 (Linux; Android 7.0; ASUS_X018D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36", "Chrome Mobile", "74.0.3729", "Android", "7.0", "mobile", "Asus", "X018D"),
    ua(8696, "Mozilla/5.0 (Linux; Android 10; SH-01M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.96 Mobile Safari/537.36", "Chrome Mobile", "78.0.3904", "Android", "10", "mobile", "Sharp", "SH-01M"),
    ua(8696, "Mozilla/5.0 (Linux; Android 9; SHV46) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.93 Mobile Safari/537.36", "Chrome Mobile", "79.0.3945", "Android", "9", "mobile", "Generic_Android", "SHV46"),
    ua(8696, "Mozilla/5.0 (Linux; Android 7.0; Thor E Build/NRD90M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.98 Mobile Safari/537.36", "Chrome Mobile", "61.0.3163", "Android", "7.0", "mobile", "Vernee", "Thor"),
    ua(8696, "Mozilla/5.0 (Linux; Android 11; GM1917) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.127 Mobile Safari/537.36", "Chrome Mobile", "100.0.4896", "Android", "11", "mobile", "OnePlus", "OnePlus GM1917"),
    // Chrome, Android tablet: 1.5 % of human views
    ua(7500, "Mozilla/5.0 (Linux; Android 9; 801LV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.116 Safari/537.36", "Chrome", "79.0.3945", "Android", "9", "tablet", "Generic_Android_Tablet", "801LV"),
    ua(7500, "Mozilla/5.0 (Linux; Android 8.1.0; KYT33 Build/3.020VE.0072.a) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.126 Safari/537.36", "Chrome", "66.0.3359", "Android", "8.1.0", "tablet", "Generic_Android_Tablet", "KYT33"),
    // Samsung Internet: 4.0 % of human views
    ua(8000, "Mozilla/5.0 (Linux; Android 5.0.1; SAMSUNG GT-I9506-ORANGE Build/LRX22C) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/2.1 Chrome/34.0.1847.76 Mobile Safari/537.36", "Samsung Internet", "2.1", "Android", "5.0.1", "mobile", "Samsung", "GT-I9506-ORANGE"),
    ua(8000, "Mozilla/5.0 (Linux; Android 5.0.2; SAMSUNG SM-T800 Build/LRX22G) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/3.0 Chrome/38.0.2125.102 Safari/537.36", "Samsung Internet", "3.0", "Android", "5.0.2", "tablet", "Samsung", "SM-T800"),
    ua(8000, "Mozilla/5.0 (Linux; Android 5.1.1; SAMSUNG SM-G920F Build/LMY47X) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/3.2 Chrome/38.0.2125.102 Mobile Safari/537.36", "Samsung Internet", "3.2", "Android", "5.1.1", "mobile", "Samsung", "SM-G920F"),
    ua(8000, "Mozilla/5.0 (Linux; Android 5.0.2; SAMSUNG SM-T710 Build/LRX22G) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/3.5 Chrome/38.0.2125.102 Safari/537.36", "Samsung Internet", "3.5", "Android", "5.0.2", "tablet", "Samsung", "SM-T710"),
    ua(8000, "Mozilla/5.0 (Linux; Android 8.0.0; SAMSUNG SM-G9500 Build/R16NW) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/9.3 Chrome/67.0.3396.87 Mobile Safari/537.36", "Samsung Internet", "9.3", "Android", "8.0.0", "mobile", "Samsung", "SM-G9500"),
    // Chrome WebView (in-app), Android: 2.0 % of human views
    ua(1667, "Mozilla/5.0 (Linux; Android 9; Pixel 2 XL Build/PPP5.180610.010; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/68.0.3440.85 Mobile Safari/537.36", "Chrome Mobile WebView", "68.0.3440", "Android", "9", "mobile", "Google", "Pixel 2 XL"),
    ua(1667, "Mozilla/5.0 (Linux; Android 9.1.2; Pixel 2 XL Build/PPP5.180610.010; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/68.0.3440.85 Mobile Safari/537.36", "Chrome Mobile WebView", "68.0.3440", "Android", "9.1.2", "mobile", "Google", "Pixel 2 XL"),
    ua(1667, "Mozilla/5.0 (Linux; Android 8.1.0; itel W5008 Build/OPM2.171019.012; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/79.0.3945.79 Mobile Safari/537.36 Zalo android/12100475", "Chrome Mobile WebView", "79.0.3945", "Android", "8.1.0", "mobile", "Itel", "W5008"),
    ua(1667, "Mozilla/5.0 (Linux; Android 8.0.0; TA-1032 Build/O00623; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/80.0.3987.149 Mobile Safari/537.36 Zalo android/12100486", "Chrome Mobile WebView", "80.0.3987", "Android", "8.0.0", "mobile", "Nokia", "TA-1032"),
    ua(1667, "Mozilla/5.0 (Linux; Android 9; RMX1811 Build/PKQ1.190319.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/80.0.3987.162 Mobile Safari/537.36 Zalo/1.0", "Chrome Mobile WebView", "80.0.3987", "Android", "9", "mobile", "Oppo", "RMX1811"),
    ua(1667, "Mozilla/5.0 (Linux; Android 9; PADM00 Build/PPR1.180610.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 Mobile Safari/537.36 Zalo/1.0", "Chrome Mobile WebView", "78.0.3904", "Android", "9", "mobile", "Oppo", "PADM00"),
    ua(1667, "Mozilla/5.0 (Linux; Android 9; PCAM10 Build/PPR1.180610.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/80.0.3987.99 Mobile Safari/537.36 Zalo android/12100438", "Chrome Mobile WebView", "80.0.3987", "Android", "9", "mobile", "Oppo", "PCAM10"),
    ua(1667, "Mozilla/5.0 (Linux; Android 9; SHV46 Build/PKQ1.190626.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/79.0.3945.93 Mobile Safari/537.36", "Chrome Mobile WebView", "79.0.3945", "Android", "9", "mobile", "Generic_Android", "SHV46"),
    ua(1667, "com.abc.mobile/5.7.14/Mozilla/5.0 (Linux; Android 9; Google Pixelbook Go Build/R99-14469.59.0; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/99.0.4844.73 Safari/537.36", "Chrome Mobile WebView", "99.0.4844", "Android", "9", "mobile", "Google", "Pixelbook Go"),
    ua(1667, "com.fi.abc/5.7.18/Mozilla/5.0 (Linux; Android 11; OnePlus8Pro Build/QKR1.191246.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/90.0.4430.210 Mobile Safari/537.36", "Chrome Mobile WebView", "90.0.4430", "Android", "11", "mobile", "OnePlus", "OnePlus8Pro"),
    ua(1667, "org.xyz.mobile/5.7.09/Mozilla/5.0 (Linux; Android 11; GM1917 Build/RKQ1.201022.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/99.0.4844.88 Mobile Safari/537.36", "Chrome Mobile WebView", "99.0.4844", "Android", "11", "mobile", "OnePlus", "OnePlus GM1917"),
    ua(1667, "com.abc.mobile.production/5.7.17/Mozilla/5.0 (Linux; Android 9; moto e6 (XT2005DL) Build/PPBS29.73-81-5-14-5-4-2-6-7; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.79 Mobile Safari/537.36", "Chrome Mobile WebView", "100.0.4896", "Android", "9", "mobile", "Motorola", "e6 (XT2005DL)"),
    // Mobile Safari, iPhone: 15.0 % of human views
    ua(37500, "Mozilla/5.0 (iPod; U; CPU iPhone OS 4_3_2 like Mac OS X; en-us) AppleWebKit/533.17.9 (KHTML, like Gecko) Version/5.0.2 Mobile/8H7 Safari/6533.18.5", "Mobile Safari", "5.0.2", "iOS", "4.3.2", "mobile", "Apple", "iPod"),
    ua(37500, "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+9_3_1+like+Mac+OS+X)+AppleWebKit/601.1.46+(KHTML,+like+Gecko)+Version/9.0+Mobile/13E238+Safari/601.1", "Mobile Safari", "9.0", "iOS", "9.3.1", "mobile", "Apple", "iPhone"),
    ua(37500, "Mozilla/5.0 (iPhone; U; fr; CPU iPhone OS 4_2_1 like Mac OS X; fr) AppleWebKit/533.17.9 (KHTML, like Gecko) Version/5.0.2 Mobile/8C148a Safari/6533.18.5", "Mobile Safari", "5.0.2", "iOS", "4.2.1", "mobile", "Apple", "iPhone"),
    ua(37500, "Mozilla/5.0 (iPod touch; CPU iPhone OS 7_0 like Mac OS X) AppleWebKit/537.40 (KHTML, like Gecko) Version/6.0 Mobile/11A4400f Safari/8536.25", "Mobile Safari", "6.0", "iOS", "7.0", "mobile", "Apple", "iPod"),
    // Mobile Safari, iPad: 3.0 % of human views
    ua(10000, "Mozilla/5.0 (iPad; U; CPU OS 3_2 like Mac OS X; en-us) AppleWebKit/531.21.10 (KHTML, like Gecko) Version/4.0.4 Mobile/7B367 Safari/531.21.10", "Mobile Safari", "4.0.4", "iOS", "3.2", "tablet", "Apple", "iPad"),
    ua(10000, "Mozilla/5.0 (iPad; U; CPU OS 4_3_2 like Mac OS X; en-us) AppleWebKit/533.17.9 (KHTML, like Gecko) Version/5.0.2 Mobile/8H7 Safari", "Mobile Safari", "5.0.2", "iOS", "4.3.2", "tablet", "Apple", "iPad"),
    ua(10000, "Mozilla/5.0+(iPad;+CPU+OS+9_3_1+like+Mac+OS+X)+AppleWebKit/601.1.46+(KHTML,+like+Gecko)+Version/9.0+Mobile/13E238+Safari/601.1", "Mobile Safari", "9.0", "iOS", "9.3.1", "tablet", "Apple", "iPad"),
    // WKWebView (in-app), iOS: 3.0 % of human views
    ua(6000, "Mozilla/5.0 (iPhone; CPU iPhone OS 12_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 ManagedBrowser/20181024.1", "Mobile Safari UI/WKWebView", "", "iOS", "12.4", "mobile", "Apple", "iPhone"),
    ua(6000, "Mozilla/5.0 (iPhone; CPU iPhone OS 12_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Mobile Safari UI/WKWebView", "", "iOS", "12.4", "mobile", "Apple", "iPhone"),
    ua(6000, "Mozilla/5.0 (iPad; CPU iPad OS 14_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Mobile Safari UI/WKWebView", "", "iOS", "14.4.1", "tablet", "Apple", "iPad"),
    ua(6000, "Mozilla/5.0 (iPhone## CPU iPhone OS 10_2 like Mac OS X) AppleWebKit/602.3.12 (KHTML, like Gecko) Mobile/14C92", "Mobile Safari UI/WKWebView", "", "iOS", "10.2", "mobile", "Apple", "iPhone"),
    ua(6000, "Mozilla/5.0 (iPod touch; CPU iPhone OS 9_3_2 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) Mobile/13F69", "Mobile Safari UI/WKWebView", "", "iOS", "9.3.2", "mobile", "Apple", "iPod"),
    // Facebook app, iOS: 2.0 % of human views
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 6_1_3 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Mobile/10B329 [FBAN/FBIOS;FBAV/6.5.1;FBBV/377040;FBDV/iPhone4,1;FBMD/iPhone;FBSN/iPhone OS;FBSV/6.1.3;FBSS/2; FBCR/Telekom.de;FBID/phone;FBLC/de_DE;", "Facebook", "6.5.1", "iOS", "6.1.3", "mobile", "Apple", "iPhone4,1"),
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 6_1_3 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Mobile/10B329 [FBAN/FBIOS;FBAV/6.2;FBBV/228172;FBDV/iPhone5,1;FBMD/iPhone;FBSN/iPhone OS;FBSV/6.1.3;FBSS/2; FBCR/o2-de;FBID/phone;FBLC/pt_BR;FBOP/1]", "Facebook", "6.2", "iOS", "6.1.3", "mobile", "Apple", "iPhone5,1"),
    ua(2000, "Mozilla/5.0 (iPad; CPU OS 5_0 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) Mobile/9A334 [FBAN/FBIOS;FBAV/6.5.1;FBBV/377040;FBDV/iPad2,1;FBMD/iPad;FBSN/iPhone OS;FBSV/5.0;FBSS/1; FBCR/;FBID/tablet;FBLC/de_DE;FBOP/1]", "Facebook", "6.5.1", "iOS", "5.0", "tablet", "Apple", "iPad2,1"),
    ua(2000, "Mozilla/5.0 (iPad; U; CPU iPhone OS 4_3_2 like Mac OS X; de_DE) AppleWebKit (KHTML, like Gecko) Mobile [FBAN/FBForIPhone;FBAV/4.0.2;FBBV/4020.0;FBDV/iPad1,1;FBMD/iPad;FBSN/iPhone OS;FBSV/4.3.2;FBSS/1; FBCR/;FBID/tablet;FBLC/de_DE;FBSF/1.0]", "Facebook", "4.0.2", "iOS", "4.3.2", "tablet", "Apple", "iPad1,1"),
    ua(2000, "Mozilla/5.0 (iPad; U; CPU iPhone OS 4_3_5 like Mac OS X; de_DE) AppleWebKit (KHTML, like Gecko) Mobile [FBAN/FBForIPhone;FBAV/4.0.3;FBBV/4030.0;FBDV/iPad2,2;FBMD/iPad;FBSN/iPhone OS;FBSV/4.3.5;FBSS/1; FBCR/Telekom.de;FBID/tablet;FBLC/de_DE;FBS", "Facebook", "4.0.3", "iOS", "4.3.5", "tablet", "Apple", "iPad2,2"),
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 5_1_1 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) Mobile/9B206 [FBAN/FBIOS;FBAV/6.1;FBBV/201075;FBDV/iPhone3,1;FBMD/iPhone;FBSN/iPhone OS;FBSV/5.1.1;FBSS/2; FBCR/Vodafone.de;FBID/phone;FBLC/en_US;FBOP/1]", "Facebook", "6.1", "iOS", "5.1.1", "mobile", "Apple", "iPhone3,1"),
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 8_2 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) Mobile/12D508 [FBAN/GroupsForiOS;FBAV/9.0;FBBV/7752968;FBDV/iPhone7,2;FBMD/iPhone;FBSN/iPhone OS;FBSV/8.2;FBSS/2; FBCR/Telekom.de;FBID/phone;FBLC/de_", "Facebook", "9.0", "iOS", "8.2", "mobile", "Apple", "iPhone7,2"),
    ua(2000, "Mozilla/5.0 (iPhone; U; CPU iPhone OS 4_1 like Mac OS X; fr_FR) AppleWebKit (KHTML, like Gecko) Mobile [FBAN/FBForIPhone;FBAV/4.0;FBBV/4000.0;FBDV/iPhone1,2;FBMD/iPhone;FBSN/iPhone OS;FBSV/4.1;FBSS/1; FBCR/Carrier;FBID/phone;FBLC/fr_FR;FBSF/1.", "Facebook", "4.0", "iOS", "4.1", "mobile", "Apple", "iPhone1,2"),
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15G77 [FBAN/FBIOS;FBDV/iPhone10,4;FBMD/iPhone;FBSN/iOS;FBSV/11.4.1;FBSS/2;FBCR/A1;FBID/phone;FBLC/de_DE;FBOP/5;FBRV/122166081]", "Facebook", "", "iOS", "11.4.1", "mobile", "Apple", "iPhone10,4"),
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15G77 [FBAN/FBIOS;FBAV/194.0.0.38.99;FBBV/127868476;FBDV/iPhone7,2;FBMD/iPhone;FBSN/iOS;FBSV/11.4.1;FBSS/2;FBCR/OrangeBotswana;FBID/phone;FBLC/en_GB;FBOP/5;FBRV/128807018]", "Facebook", "194.0.0", "iOS", "11.4.1", "mobile", "Apple", "iPhone7,2"),
    // Chrome, iOS: 1.5 % of human views
    ua(15000, "Mozilla/5.0 (iPhone; CPU IPhone OS 8_1_3 Like Mac OS X) AppleWebKit/600.1.4 (KHTML, Like Gecko) CriOS/43.0.2357.61 Mobile/12B466 Safari/600.1.4", "Chrome Mobile iOS", "43.0.2357", "iOS", "8.1.3", "mobile", "Apple", "iPhone"),
    // Google app: 1.0 % of human views
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) GSA/4.2.2.38484 Mobile/11D257 Safari/9537.53", "Google", "4.2.2", "iOS", "7.1.2", "mobile", "Apple", "iPhone"),
    ua(2000, "Mozilla/5.0 (iPhone; CPU iPhone OS 11_0_2 like Mac OS X) AppleWebKit/604.1.34 (KHTML, like Gecko) GSA/36.0.169645775 Mobile/15A421 Safari/604.1", "Google", "36.0.169645775", "iOS", "11.0.2", "mobile", "Apple", "iPhone"),
    ua(2000, "Mozilla/5.0 (Linux; Android 8.1.0; TA-1024 Build/OPR1.170623.026; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/71.0.3578.99 Mobile Safari/537.36 GSA/8.65.5.21.arm64", "Google", "8.65.5", "Android", "8.1.0", "mobile", "Nokia", "TA-1024"),
    ua(2000, "Mozilla/5.0 (Linux; Android 8.0.0; SM-G960F Build/R16NW; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/71.0.3578.99 Mobile Safari/537.36 GSA/8.65.5.21.arm64", "Google", "8.65.5", "Android", "8.0.0", "mobile", "Samsung", "SM-G960F"),
    ua(2000, "Mozilla/5.0 (Linux; Android 9; Pixel 3 Build/PQ1A.181205.006; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/71.0.3578.99 Mobile Safari/537.36 GSA/8.65.5.21.arm64", "Google", "8.65.5", "Android", "9", "mobile", "Google", "Pixel 3"),
    // Instagram app: 0.8 % of human views
    ua(4000, "Mozilla/5.0 (Linux; Android 7.0; LG-TP260 Build/NRD90U; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/64.0.3282.137 Mobile Safari/537.36 Instagram 33.0.0.11.92 Android (24/7.0; 320dpi; 720x1193; LGE/lge; LG-TP260; lv517; lv517; en_US; 93117667)", "Instagram", "33.0.0", "Android", "7.0", "mobile", "LG", "TP260"),
    ua(4000, "Mozilla/5.0 (iPhone; CPU iPhone OS 11_2_5 like Mac OS X) AppleWebKit/604.5.6 (KHTML, like Gecko) Mobile/15D60 Instagram 33.0.0.11.96 (iPhone9,3; iOS 11_2_5; en_AU; en-AU; scale=2.00; gamut=wide; 750x1334)", "Instagram", "33.0.0", "iOS", "11.2.5", "mobile", "Apple", "iPhone9,3"),
    // Edge Mobile: 0.6 % of human views
    ua(1000, "Mozilla/5.0 (Windows Phone 10.0; Android 4.2.1; NOKIA; Lumia 930) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.71 Mobile Safari/537.36 Edge/12.0", "Edge Mobile", "12.0", "Windows Phone", "10.0", "mobile", "Nokia", "Lumia 930"),
    ua(1000, "Mozilla/5.0 (iPhone; CPU iPhone OS 12_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.1 EdgiOS/44.5.0.10 Mobile/15E148 Safari/604.1", "Edge Mobile", "44.5.0", "iOS", "12.3.1", "mobile", "Apple", "iPhone"),
    ua(1000, "Mozilla/5.0 (iPad; CPU OS 12_5_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.0 EdgiOS/46.3.26 Mobile/15E148 Safari/605.1.15", "Edge Mobile", "46.3.26", "iOS", "12.5.5", "tablet", "Apple", "iPad"),
    ua(1000, "Mozilla/5.0 (Linux; Android 8.1.0; Pixel Build/OPM4.171019.021.D1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.3325.109 Mobile Safari/537.36 EdgA/42.0.0.2057", "Edge Mobile", "42.0.0", "Android", "8.1.0", "mobile", "Google", "Pixel"),
    ua(1000, "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_2 like Mac OS X) AppleWebKit/603.2.4 (KHTML, like Gecko) Mobile/14F89 Safari/603.2.4 EdgiOS/41.1.35.1", "Edge Mobile", "41.1.35", "iOS", "10.3.2", "mobile", "Apple", "iPhone"),
    ua(1000, "Mozilla/5.0 (Linux; Android 8.0; Pixel XL Build/OPP3.170518.006) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.3029.0 Mobile Safari/537.36 EdgA/41.1.35.1", "Edge Mobile", "41.1.35", "Android", "8.0", "mobile", "Google", "Pixel XL"),
    // Firefox, iOS and Android: 0.6 % of human views
    ua(545, "Mozilla/5.0 (iPhone; CPU iPhone OS 8_3 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) FxiOS/1.0 Mobile/12F69 Safari/600.1.4", "Firefox iOS", "1.0", "iOS", "8.3", "mobile", "Apple", "iPhone"),
    ua(545, "Mozilla/5.0 (iPad; CPU iPhone OS 8_3 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) FxiOS/1.0 Mobile/12F69 Safari/600.1.4", "Firefox iOS", "1.0", "iOS", "8.3", "tablet", "Apple", "iPad"),
    ua(545, "Mozilla/5.0 (Android 5.0; Tablet; rv:41.0) Gecko/41.0 Firefox/41.0", "Firefox Mobile", "41.0", "Android", "5.0", "tablet", "Generic", "Tablet"),
    ua(545, "Mozilla/5.0 (Android; Mobile: HTC6500LVW; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "mobile", "HTC", "6500LVW"),
    ua(545, "Mozilla/5.0 (Android; Mobile: HTC Desire X; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "mobile", "HTC", "Desire X"),
    ua(545, "Mozilla/5.0 (Android; Mobile: HTC first; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "mobile", "HTC", "first"),
    ua(545, "Mozilla/5.0 (Android; Mobile: HTC One V; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "mobile", "HTC", "One V"),
    ua(545, "Mozilla/5.0 (Android; Mobile: LGL86C; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "mobile", "LG", "LGL86C"),
    ua(545, "Mozilla/5.0 (Android; Mobile: PantechP9070; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "mobile", "Pantech", "P9070"),
    ua(545, "Mozilla/5.0 (Android; Mobile: PantechP9090; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "mobile", "Pantech", "P9090"),
    ua(545, "Mozilla/5.0 (Android; Tablet: SAMSUNG-SGH-I467; rv:20.0) Gecko/20.0 Firefox/20.0", "Firefox", "20.0", "Android", "", "tablet", "Samsung", "SGH-I467"),
    // DuckDuckGo: 0.2 % of human views
    ua(1000, "Mozilla/5.0 (iPhone; CPU iPhone OS 14_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.3 Mobile/15E148 DuckDuckGo/7 Safari/605.1.15", "DuckDuckGo Mobile", "7", "iOS", "14.3", "mobile", "Apple", "iPhone"),
    ua(1000, "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/87.0.4280.141 Mobile DuckDuckGo/5 Safari/537.36", "DuckDuckGo Mobile", "5", "Android", "11", "mobile", "Generic", "Smartphone"),
    // MIUI Browser: 0.5 % of human views
    ua(1250, "Mozilla/5.0 (Linux; U; Android 6.0.1; ru-ru; Redmi 4 Build/MMB29M) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/61.0.3163.128 Mobile Safari/537.36 XiaoMi/MiuiBrowser/10.3.6-g", "MiuiBrowser", "10.3.6", "Android", "6.0.1", "mobile", "XiaoMi", "Redmi 4"),
    ua(1250, "Mozilla/5.0 (Linux; U; Android 8.0.0; zh-cn; MIX Build/OPR1.170623.032) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/61.0.3163.128 Mobile Safari/537.36 XiaoMi/MiuiBrowser/10.1.1", "MiuiBrowser", "10.1.1", "Android", "8.0.0", "mobile", "XiaoMi", "MIX"),
    ua(1250, "Mozilla/5.0 (Linux; U; Android 9; MIX 2S Build/PKQ1.180729.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/61.0.3163.128 Mobile Safari/537.36 XiaoMi/MiuiBrowser/10.7.3", "MiuiBrowser", "10.7.3", "Android", "9", "mobile", "XiaoMi", "MIX 2S"),
    ua(1250, "Mozilla/5.0 (Linux; U; Android 8.0.0; zh-cn; MIX 2 Build/OPR1.170623.027) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/61.0.3163.128 Mobile Safari/537.36 XiaoMi/MiuiBrowser/10.1.1", "MiuiBrowser", "10.1.1", "Android", "8.0.0", "mobile", "XiaoMi", "MIX 2"),
    // Amazon Silk, Kindle Fire: 0.5 % of human views
    ua(1250, "Mozilla/5.0 (Linux; U; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/2.0 Safari/535.19 Silk-Accelerated=false", "Amazon Silk", "2.0", "Android", "", "tablet", "Amazon", "Kindle Fire HD 7\""),
    ua(1250, "Mozilla/5.0 (Linux; U; en-us; KFOT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/2.1 Safari/535.19 Silk-Accelerated=true", "Amazon Silk", "2.1", "Android", "", "tablet", "Amazon", "Kindle Fire"),
    ua(1250, "Mozilla/5.0 (Linux; U; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/2.2 Safari/535.19 Silk-Accelerated=true", "Amazon Silk", "2.2", "Android", "", "tablet", "Amazon", "Kindle Fire HD 7\""),
    ua(1250, "Mozilla/5.0 (Linux; U; Android 4.0.3; en-gb; KFTT Build/IML74K) AppleWebKit/537.36 (KHTML, like Gecko) Silk/3.25 like Chrome/34.0.1847.137 Mobile Safari/537.36", "Amazon Silk", "3.25", "Android", "4.0.3", "tablet", "Amazon", "Kindle Fire HD 7\""),
    // Opera Mobile, Android: 0.4 % of human views
    ua(1333, "Mozilla/5.0 (Linux; Android; 4.1.2; GT-I9100 Build/000000) AppleWebKit/537.22 (KHTML, like Gecko) Chrome/25.0.1234.12 Mobile Safari/537.22 OPR/14.0.123.123", "Opera Mobile", "14.0.123", "Android", "", "mobile", "Samsung", "GT-I9100"),
    ua(1333, "Mozilla/5.0 (Linux; Android 2.3.6; Liquid MT Build/GRK39F) AppleWebKit/537.31 (KHTML, like Gecko) Chrome/26.0.1410.58 Mobile Safari/537.31 OPR/14.0.1074.57453", "Opera Mobile", "14.0.1074", "Android", "2.3.6", "mobile", "Acer", "Liquid MT"),
    ua(1333, "Mozilla/5.0 (Linux; Android 2.3.6; Z110 Build/GRK39F) AppleWebKit/537.22 (KHTML, like Gecko) Chrome/25.0.1364.123 Mobile Safari/537.22 OPR/14.0.1025.52315", "Opera Mobile", "14.0.1025", "Android", "2.3.6", "mobile", "Acer", "Z110"),
    // UC Browser, Android: 0.6 % of human views
    ua(2000, "Mozilla/5.0 (Linux; U; Android 4.0.3; en-US; NOVO7 Mars Build/ICS.f06ref1024.20120619) AppleWebKit/534.31 (KHTML, like Gecko) UCBrowser/9.2.0.308 U3/0.8.0 Mobile Safari/534.31", "UC Browser", "9.2.0", "Android", "4.0.3", "mobile", "Ainol", "NOVO7 Mars"),
    ua(2000, "Mozilla/5.0 (Linux; U; Android 4.0.3; En-US; NOVO7 Tornados Build/ICS.f06ref848L.20120619) AppleWebKit/534.31 (KHTML, Like Gecko) UCBrowser/9.3.1.344 U3/0.8.0 Mobile Safari/534.31", "UC Browser", "9.3.1", "Android", "4.0.3", "mobile", "Ainol", "NOVO7 Tornados"),
    ua(2000, "Mozilla/5.0 (Linux; U; Android 4.0.3; en-US; one_touch_T10 Build/IML74K) AppleWebKit/528.5+ (KHTML, like Gecko) Version/3.1.2 Mobile Safari/525.20.1 UCBrowser/8.2.0.242 Mobile", "UC Browser", "8.2.0", "Android", "4.0.3", "mobile", "Alcatel", "One Touch T10"),
    // Yandex Browser, Android: 0.2 % of human views
    ua(1000, "Mozilla/5.0 (Linux; Android 5.0.1; GT-I9505 Build/LRX22C) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/47.0.2526.111 YaBrowser/16.2.1.1239.00 Mobile Safari/537.36", "Yandex Browser", "16.2.1", "Android", "5.0.1", "mobile", "Samsung", "GT-I9505"),
    ua(1000, "Mozilla/5.0 (Linux; Android 4.1.1; RC0718C Build/JRO03H) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 YaBrowser/14.7.1916.15666.00 Safari/537.36", "Yandex Browser", "14.7.1916", "Android", "4.1.1", "tablet", "3Q", "RC0718C"),
    // IE Mobile, Windows Phone: 0.2 % of human views
    ua(1000, "Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; NOKIA; Lumia 920)", "IE Mobile", "10.0", "Windows Phone", "8.0", "mobile", "Nokia", "Lumia 920"),
    ua(1000, "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 920)", "IE Mobile", "11.0", "Windows Phone", "8.1", "mobile", "Nokia", "Lumia 920"),
    // Opera Mini, feature phones: 0.2 % of human views
    ua(1000, "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (J2ME/22.478; U; en) Presto/2.5.25 Version/10.54", "Opera Mini", "9.80", "", "", "other", "Generic", "Feature Phone"),
    ua(1000, "Opera/9.80 (BlackBerry; Opera Mini/7.0.31437/28.3030; U; en) Presto/2.8.119 Version/11.10", "Opera Mini", "7.0.31437", "BlackBerry OS", "", "mobile", "BlackBerry", ""),
    // Smart TVs, streaming sticks: 0.8 % of human views
    ua(1143, "Mozilla/5.0 (SMART-TV; Linux; Tizen 2.3) AppleWebkit/538.1 (KHTML, like Gecko) SamsungBrowser/1.0 TV Safari/538.1", "Samsung Internet", "1.0", "Tizen", "2.3", "tv", "Samsung", "SMART-TV"),
    ua(1143, "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.41 (KHTML, like Gecko) Large Screen WebAppManager Safari/537.41", "Safari", "", "Web0S", "", "tv", "LG", "Web0S SmartTV"),
    ua(1143, "Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.84 Safari/537.36 CrKey/1.22.74257", "Chrome", "52.0.2743", "Chromecast", "1.22.74257", "tv", "", ""),
    ua(1143, "Roku/DVP-6.2 (096.02E06005A)", "Roku", "6.2", "Roku", "6.2", "tv", "Generic_Inettv", "Roku"),
    ua(1143, "HbbTV/1.2.1 (;Panasonic;VIERA 2013;3.672;4101-0003 0002-0000;)", "HbbTV", "1.2.1", "Panasonic", "2013", "tv", "Panasonic", "VIERA 2013"),
    ua(1143, "Opera/9.80 (Linux armv7l; HbbTV/1.1.1 (; Sony; KDL32W650A; PKG3.211EUA; 2013;); ) Presto/2.12.362 Version/12.11", "HbbTV", "1.1.1", "Sony", "2013", "tv", "Sony", "KDL32W650A"),
    ua(1143, "AppleCoreMedia/1.0.0.12F69 (Apple TV; U; CPU OS 8_3 like Mac OS X; en_us)", "", "", "ATV OS X", "", "tv", "Apple", "AppleTV"),
    // Game consoles: 0.3 % of human views
    ua(750, "Mozilla/5.0 (PlayStation 4 5.00) AppleWebKit/601.2 (KHTML, like Gecko)", "", "", "", "", "console", "Sony", "PlayStation 4"),
    ua(750, "Mozilla/5.0 (Nintendo WiiU) AppleWebKit/534.52 (KHTML, like Gecko) NX/2.1.0.10.9 NintendoBrowser/1.5.0.8047.EU", "NetFront NX", "2.1.0", "", "", "console", "Nintendo", "Wii U"),
    ua(750, "Mozilla/5.0 (PlayStation Vita 1.81) AppleWebKit/531.22.8 (KHTML, like Gecko) Silk/3.2", "NetFront NX", "", "", "", "console", "Sony", "PlayStation Vita"),
    ua(750, "Mozilla/4.0 (compatible; MSIE 7.0; Windows Phone OS 7.5; Trident/3.1; IEMobile/7.0; Xbox)", "IE Mobile", "7.0", "Windows Phone", "7.5", "console", "Microsoft", "Xbox"),
    // Unknown browsers: 0.3 % of human views
    ua(1500, "SomethingWeNeverKnewExisted", "", "", "", "", "other", "", ""),
    ua(1500, "Mac OS X/10.10.4 (14E11f)", "", "", "Mac OS X", "10.10.4", "desktop", "Apple", "Mac"),

    // Crawlers: bot views only (2 % of views), evenly.
    ua(100, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "2.1", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Mozilla/5.0 (compatible; bingbot/2.0  http://www.bing.com/bingbot.htm)", "bingbot", "2.0", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Mozilla/5.0 (compatible; Baiduspider-cpro; +http://www.baidu.com/search/spider.html)", "Baiduspider-cpro", "", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots),gzip(gfe) AppEngine-Google; (+http://code.google.com/appengine; appid: twitter-mirror),gzip(gfe),gzip(gfe),gzip(gfe)", "YandexBot", "3.0", "", "", "bot", "Spider", "Desktop"),
    ua(100, "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "FacebookBot", "1.1", "", "", "bot", "Spider", "Desktop"),
    ua(100, "LinkedInBot/1.0 (compatible; Mozilla/5.0; Jakarta Commons-HttpClient/3.1 +http://www.linkedin.com)", "LinkedInBot", "1.0", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Mozilla/5.0 (compatible; Pinterestbot/1.0; +https://www.pinterest.com/bot.html)", "Pinterestbot", "1.0", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Mozilla/5.0 (compatible; SemrushBot/1.2~bl; +http://www.semrush.com/bot.html)", "SemrushBot", "1.2", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Mozilla/5.0 (compatible;PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", "PetalBot", "", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Googlebot-Video/1.0", "Googlebot-Video", "1.0", "", "", "bot", "Spider", "Desktop"),
    ua(100, "Mozilla/5.0 (iPhone; CPU iPhone OS 6_0 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Version/6.0 Mobile/10A5376e Safari/8536.25 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "2.1", "iOS", "6.0", "bot", "Spider", "Smartphone"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_mix_is_mostly_desktop_and_phones_and_only_bot_views_crawl() {
        let mix = UserAgentMix::default();
        let mut rng = Rng::new(3);
        let draws = 200_000;
        let mut kinds = std::collections::HashMap::new();
        let mut seen = HashSet::new();
        for _ in 0..draws {
            let ua = mix.human(&mut rng);
            assert!(!ua.is_bot(), "a person drew a crawler: {}", ua.user_agent);
            *kinds.entry(ua.device_type).or_insert(0u32) += 1;
            seen.insert(ua.user_agent);
        }
        let share = |kind: &str| f64::from(kinds.get(kind).copied().unwrap_or(0)) / draws as f64;
        assert!((0.36..0.46).contains(&share("desktop")), "{kinds:?}");
        assert!(
            (0.52..0.64).contains(&(share("mobile") + share("tablet"))),
            "{kinds:?}"
        );
        assert!(share("tv") > 0.0 && share("console") > 0.0 && share("other") > 0.0);
        let humans = USER_AGENTS.iter().filter(|ua| !ua.is_bot()).count();
        assert!(humans >= 100, "at least 100 real strings for people");
        assert_eq!(seen.len(), humans, "every human row is drawn");
        for _ in 0..1_000 {
            assert!(mix.bot(&mut rng).is_bot());
        }
    }
}
