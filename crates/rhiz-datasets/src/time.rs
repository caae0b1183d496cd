//! Fast lexicon datetimes for generated instants.

use chrono::DateTime;
use rhiz_protocol::Datetime;

/// Microseconds from 1970 to 10000-01-01T00:00:00Z.
const END_US: i64 = 253_402_300_800_000_000;

/// The lexicon datetime (`YYYY-MM-DDTHH:MM:SS.mmmZ`) of Unix microseconds
/// `us`, truncated to the millisecond; instants outside 1970–9999 are
/// clamped. Same text as `Datetime::from_utc`, without its formatting
/// machinery (this runs several times per generated record).
pub(crate) fn datetime_us(us: i64) -> Datetime {
    let us = us.clamp(0, END_US - 1);
    let (days, in_day) = (us.div_euclid(86_400_000_000), us.rem_euclid(86_400_000_000));
    let (year, month, day) = civil_from_days(days);
    let ms = in_day / 1000;
    let fields = [
        (year, 4),
        (month, 2),
        (day, 2),
        (ms / 3_600_000, 2),
        (ms / 60_000 % 60, 2),
        (ms / 1000 % 60, 2),
        (ms % 1000, 3),
    ];
    let mut text = String::with_capacity(24);
    for (i, (value, width)) in fields.into_iter().enumerate() {
        for k in (0..width).rev() {
            let digit = value / 10i64.pow(k) % 10;
            text.push(char::from(b'0' + digit as u8));
        }
        text.push(['-', '-', 'T', ':', ':', '.', 'Z'][i]);
    }
    text.parse().unwrap_or_else(|_| {
        Datetime::from_utc(DateTime::from_timestamp_micros(us).unwrap_or_default())
    })
}

/// The proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix64;

    fn reference(us: i64) -> Datetime {
        Datetime::from_utc(DateTime::from_timestamp_micros(us).unwrap())
    }

    #[test]
    fn matches_from_utc() {
        let fixed = [
            0,
            1,
            999,
            1_000,
            951_782_400_000_000,   // 2000-02-29
            1_709_164_800_123_456, // 2024-02-29
            1_735_689_599_999_999, // 2024-12-31T23:59:59.999999
            END_US - 1,
        ];
        for us in fixed {
            assert_eq!(datetime_us(us), reference(us), "{us}");
        }
        let mut rng = SplitMix64::new(5, 5);
        for _ in 0..100_000 {
            let us = rng.below(END_US as u64) as i64;
            assert_eq!(datetime_us(us), reference(us), "{us}");
        }
    }

    #[test]
    fn clamps_outside_the_writable_years() {
        assert_eq!(datetime_us(-5).as_str(), "1970-01-01T00:00:00.000Z");
        assert_eq!(datetime_us(i64::MAX).as_str(), "9999-12-31T23:59:59.999Z");
    }
}
