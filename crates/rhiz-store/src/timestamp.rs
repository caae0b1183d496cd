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
    truncate(at).to_rfc3339_opts(SecondsFormat::Micros, true)
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
    fn text_order_is_time_order() {
        let early = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 9).unwrap();
        let later = early + chrono::Duration::microseconds(1);
        let much_later = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 10).unwrap();
        assert!(to_text(early) < to_text(later));
        assert!(to_text(later) < to_text(much_later));
    }
}
