//! One rule for timestamps on both backends: microsecond precision, and on
//! SQLite a fixed-width text form whose text order is time order.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// Truncates to microseconds, PostgreSQL's precision (which would otherwise
/// round), so a value reads back equal to what was written on both backends.
pub(crate) fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The SQLite text form: RFC 3339, UTC, `Z`, exactly six fraction digits,
/// e.g. `2025-10-20T12:00:00.123000Z`. Fixed width (for years 0–9999), so
/// comparing the text compares the instants.
pub(crate) fn to_text(at: DateTime<Utc>) -> String {
    let mut text = String::with_capacity(TEXT_LEN);
    write_text(&mut text, at);
    text
}

/// The length of [`to_text`]'s form for years 0–9999.
const TEXT_LEN: usize = "2025-10-20T12:00:00.123000Z".len();

/// Appends [`to_text`]'s form of `at` to `out`, without allocating for
/// years 0–9999 (outside them, and for a leap second, chrono writes it).
pub(crate) fn write_text(out: &mut String, at: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let at = truncate(at);
    if !(0..=9999).contains(&at.year()) || at.nanosecond() >= 1_000_000_000 {
        out.push_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true));
        return;
    }
    write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 1_000,
    )
    .expect("writing to a String cannot fail");
}

/// Parses a stored text timestamp back.
pub(crate) fn from_text(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_is_fixed_width_and_round_trips() {
        let at = Utc.with_ymd_and_hms(2025, 10, 20, 12, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let text = to_text(at);
        assert_eq!(text, "2025-10-20T12:00:00.123456Z");
        assert_eq!(from_text(&text).unwrap(), truncate(at));

        let whole = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(to_text(whole), "2025-01-02T03:04:05.000000Z");
    }

    #[test]
    fn text_is_chronos_rfc3339_with_micros() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let mut instants = vec![
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap(),
            leap,
        ];
        let mut at = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        for step in 0..2_000i64 {
            at += chrono::Duration::nanoseconds(step * 7_919_000_000_123 + 999);
            instants.push(at);
        }
        for at in instants {
            let expected = truncate(at).to_rfc3339_opts(SecondsFormat::Micros, true);
            assert_eq!(to_text(at), expected);
        }
    }

    #[test]
    fn text_order_is_time_order() {
        let early = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 9).unwrap();
        let later = early + chrono::Duration::microseconds(1);
        let much_later = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 10).unwrap();
        assert!(to_text(early) < to_text(later));
        assert!(to_text(later) < to_text(much_later));
    }
}
