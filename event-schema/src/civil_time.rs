//! Epoch milliseconds to UTC calendar date and hour, without a time library (the contract crate has
//! no dependencies on clocks or time zones).

/// A UTC date and hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcHour {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl UtcHour {
    /// The UTC date and hour of an instant given in epoch milliseconds.
    pub fn from_epoch_ms(epoch_ms: i64) -> UtcHour {
        let secs = epoch_ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let hour = (secs.rem_euclid(86_400) / 3600) as u32;
        let (year, month, day) = civil_from_days(days);
        UtcHour {
            year,
            month,
            day,
            hour,
        }
    }

    /// `YYYY-MM-DD`.
    pub fn date_string(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01, the inverse of [`civil_from_days`]: Howard Hinnant's
/// `days_from_civil`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_inverts_civil_from_days() {
        // 1900-01-01 to 2100-12-31, leap days and century years included.
        for days in -25_567..47_482 {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
        }
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn known_instants_map_to_their_utc_hour() {
        assert_eq!(
            UtcHour::from_epoch_ms(0),
            UtcHour {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0
            }
        );
        // 2024-02-29T23:59:59.999Z (leap day)
        assert_eq!(
            UtcHour::from_epoch_ms(1_709_251_199_999),
            UtcHour {
                year: 2024,
                month: 2,
                day: 29,
                hour: 23
            }
        );
        // 2026-11-25T02:31:14Z
        let h = UtcHour::from_epoch_ms(1_795_573_874_000);
        assert_eq!((h.date_string(), h.hour), ("2026-11-25".to_string(), 2));
    }
}
