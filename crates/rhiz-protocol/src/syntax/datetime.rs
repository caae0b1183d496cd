//! The Lexicon `datetime` string format
//! (<https://atproto.com/specs/lexicon#datetime>).

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};

use super::string_identifier;

string_identifier!(
    /// A syntactically valid Lexicon datetime: RFC 3339 with an uppercase
    /// `T`, seconds, an optional fraction and a required timezone (`Z` or
    /// `±HH:MM`, not `-00:00`), naming a real date and time at or after
    /// `0000-01-01T00:00:00Z`.
    ///
    /// The value keeps its text as given (precision and offset included), so
    /// equality and the derived `Ord` compare text; compare instants with
    /// [`Datetime::to_utc`].
    ///
    /// ```
    /// use rhiz_protocol::Datetime;
    ///
    /// let at: Datetime = "1985-04-12T23:20:50.123-07:00".parse()?;
    /// assert_eq!(at.to_utc().to_rfc3339(), "1985-04-13T06:20:50.123+00:00");
    /// assert_eq!(Datetime::from_utc(at.to_utc()), "1985-04-13T06:20:50.123Z");
    ///
    /// let err = "1985-04-12T23:20:50".parse::<Datetime>().unwrap_err();
    /// assert_eq!(err.rule, "timezone is required: 'Z' or ±HH:MM");
    /// # Ok::<(), rhiz_protocol::SyntaxError>(())
    /// ```
    Datetime,
    "datetime",
    check
);

/// The longest datetime accepted, in bytes.
const MAX_LEN: usize = 64;

/// `YYYY-MM-DDTHH:MM:SS`: `D` is any ASCII digit, other bytes are literal.
const SHAPE: &[u8; 19] = b"DDDD-DD-DDTDD:DD:DD";

/// The fields of a checked datetime.
struct Fields {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// Nanoseconds, from the first 9 fraction digits.
    nanos: u32,
    /// East of UTC, in seconds.
    offset_seconds: i32,
}

/// Checks `s` against the Lexicon datetime syntax; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    parse(s.as_bytes()).map(|_| ())
}

/// Two ASCII digits at `b[i..i + 2]`, which the caller has checked.
fn two(b: &[u8], i: usize) -> u32 {
    u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0')
}

/// Appends `value`, below `10^digits`, as exactly `digits` decimal digits.
fn push_digits(text: &mut String, value: u32, digits: u32) {
    let mut divisor = 10_u32.pow(digits - 1);
    while divisor > 0 {
        text.push(char::from(b'0' + (value / divisor % 10) as u8));
        divisor /= 10;
    }
}

/// Parses and checks the text (the rules of the reference
/// implementations: 64 bytes at most, 1 to 20 fraction digits); the single implementation behind both
/// [`check`] and [`Datetime::to_utc`].
fn parse(b: &[u8]) -> Result<Fields, &'static str> {
    if b.len() > MAX_LEN {
        return Err("must be at most 64 characters");
    }
    for (i, &expected) in SHAPE.iter().enumerate() {
        let ok = match (b.get(i), expected) {
            (Some(c), b'D') => c.is_ascii_digit(),
            (Some(&c), literal) => c == literal,
            (None, _) => false,
        };
        if !ok {
            return Err(match i {
                0..=9 => "date must be YYYY-MM-DD",
                10 => "date and time must be separated by an uppercase 'T'",
                _ => "time must be HH:MM:SS (seconds are required)",
            });
        }
    }
    let mut rest = &b[SHAPE.len()..];
    let mut nanos = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=20).contains(&digits) {
            return Err("fractional seconds must have between 1 and 20 digits");
        }
        for i in 0..9 {
            let digit = fraction
                .get(i)
                .filter(|_| i < digits)
                .map_or(0, |c| c - b'0');
            nanos = nanos * 10 + u32::from(digit);
        }
        rest = &fraction[digits..];
    }
    let offset_seconds = match rest {
        b"Z" => 0,
        [] => return Err("timezone is required: 'Z' or ±HH:MM"),
        b"-00:00" => return Err("timezone -00:00 is not allowed: use Z or +00:00"),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let (hours, minutes) = (two(rest, 1), two(rest, 4));
            if hours > 23 {
                return Err("timezone offset hours must be between 00 and 23");
            }
            if minutes > 59 {
                return Err("timezone offset minutes must be between 00 and 59");
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return Err("timezone must be 'Z' or ±HH:MM"),
    };
    let year = (two(b, 0) * 100 + two(b, 2)) as i32;
    let fields = Fields {
        year,
        month: two(b, 5),
        day: two(b, 8),
        hour: two(b, 11),
        minute: two(b, 14),
        second: two(b, 17),
        nanos,
        offset_seconds,
    };
    if !(1..=12).contains(&fields.month) {
        return Err("month must be between 01 and 12");
    }
    if fields.hour > 23 {
        return Err("hour must be between 00 and 23");
    }
    if fields.minute > 59 {
        return Err("minute must be between 00 and 59");
    }
    if fields.second > 59 {
        return Err("second must be between 00 and 59");
    }
    if NaiveDate::from_ymd_opt(year, fields.month, fields.day).is_none() {
        return Err("day does not exist in that month");
    }
    // Only year 0000 with a positive offset can fall before year 0 in UTC.
    if year == 0 && fields.offset_seconds > 0 && fields.to_utc().year() < 0 {
        return Err("must not be before 0000-01-01T00:00:00Z in UTC");
    }
    Ok(fields)
}

impl Fields {
    /// The instant, for fields [`parse`] has range-checked.
    fn to_utc(&self) -> DateTime<Utc> {
        let date = NaiveDate::from_ymd_opt(self.year, self.month, self.day)
            .expect("parse checked the date");
        let time = NaiveTime::from_hms_nano_opt(self.hour, self.minute, self.second, self.nanos)
            .expect("parse checked the time");
        date.and_time(time).and_utc() - TimeDelta::seconds(i64::from(self.offset_seconds))
    }
}

impl Datetime {
    /// The instant this datetime names, in UTC. Fraction digits past the
    /// nanosecond are dropped.
    pub fn to_utc(&self) -> DateTime<Utc> {
        parse(self.0.as_bytes())
            .expect("a Datetime holds checked text")
            .to_utc()
    }

    /// The preferred Lexicon form of an instant,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`: milliseconds, `Z`.
    ///
    /// Sub-millisecond precision is dropped (truncated), a leap second is
    /// written as `:59.999`, and instants outside the years 0000–9999, which
    /// the format cannot write, are clamped to its first or last
    /// millisecond.
    pub fn from_utc(at: DateTime<Utc>) -> Datetime {
        let (year, month, day, hour, minute, second, millis) = if at.year() < 0 {
            (0, 1, 1, 0, 0, 0, 0)
        } else if at.year() > 9999 {
            (9999, 12, 31, 23, 59, 59, 999)
        } else {
            // chrono keeps a leap second as nanoseconds past 1e9.
            let nanos = at.nanosecond().min(999_999_999);
            let date = (at.year(), at.month(), at.day());
            let time = (at.hour(), at.minute(), at.second(), nanos / 1_000_000);
            (date.0, date.1, date.2, time.0, time.1, time.2, time.3)
        };
        // Written digit by digit: every ingested event gets its source time
        // here, and `format!` took about 2,800 instructions for it.
        let mut text = String::with_capacity(24);
        for (value, digits, then) in [
            (year as u32, 4, '-'),
            (month, 2, '-'),
            (day, 2, 'T'),
            (hour, 2, ':'),
            (minute, 2, ':'),
            (second, 2, '.'),
            (millis, 3, 'Z'),
        ] {
            push_digits(&mut text, value, digits);
            text.push(then);
        }
        Datetime::from_checked(text)
    }
}

impl From<DateTime<Utc>> for Datetime {
    fn from(at: DateTime<Utc>) -> Datetime {
        Datetime::from_utc(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, datetime};
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_datetimes() {
        let valid = [
            "1985-04-12T23:20:50.123Z",
            "1985-04-12T23:20:50.000Z",
            "2000-01-01T00:00:00.000Z",
            "1985-04-12T23:20:50.123456Z",
            "1985-04-12T23:20:50.120Z",
            "1985-04-12T23:20:50.120000Z",
            "1985-04-12T23:20:50.1235678912345Z",
            "1985-04-12T23:20:50.100Z",
            "1985-04-12T23:20:50Z",
            "1985-04-12T23:20:50.0Z",
            "1985-04-12T23:20:50.123+00:00",
            "1985-04-12T23:20:50.123-07:00",
            "1985-04-12T23:20:50.123+07:00",
            "1985-04-12T23:20:50.123+01:45",
            "1985-04-12T23:20:50.123+23:59",
            "0985-04-12T23:20:50.123-07:00",
            "0123-01-01T00:00:00.000Z",
            "1985-04-12T23:20:50.1Z",
            "1985-04-12T23:20:50.12Z",
            "1985-04-12T23:20:50.1234Z",
            "1985-04-12T23:20:50.12345Z",
            "1985-04-12T23:20:50.1234567Z",
            "1985-04-12T23:20:50.12345678Z",
            "1985-04-12T23:20:50.123456789Z",
            "1985-04-12T23:20:50.1234567890Z",
            "1985-04-12T23:20:50.12345678901Z",
            "1985-04-12T23:20:50.123456789012Z",
            "1985-04-12T23:20:50.12345678901234567890-07:00",
            "0000-01-01T00:00:00.000Z",
            "0000-01-01T00:00:00-01:00",
            "0000-01-01T01:00:00+01:00",
            "0001-01-01T00:00:00.000Z",
            "0010-12-31T23:00:00.000Z",
            "1000-12-31T23:00:00.000Z",
            "1900-12-31T23:00:00.000Z",
            "3001-12-31T23:00:00.000Z",
            "2024-02-29T12:00:00Z",
            "9999-12-31T23:59:59.999+14:00",
        ];
        for s in valid {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn rejects_invalid_datetimes_with_the_broken_rule() {
        const DATE: &str = "date must be YYYY-MM-DD";
        const T: &str = "date and time must be separated by an uppercase 'T'";
        const TIME: &str = "time must be HH:MM:SS (seconds are required)";
        const FRACTION: &str = "fractional seconds must have between 1 and 20 digits";
        const TZ_REQUIRED: &str = "timezone is required: 'Z' or ±HH:MM";
        const TZ: &str = "timezone must be 'Z' or ±HH:MM";
        let too_long = format!("1985-04-12T23:20:50.{}Z", "1".repeat(44));
        let invalid = [
            ("", DATE),
            (&too_long, "must be at most 64 characters"),
            ("01985-04-12T23:20:50.123Z", DATE),
            ("985-04-12T23:20:50.123Z", DATE),
            ("1985—04-32T23;20:50.123Z", DATE),
            ("1985–04-32T23;20:50.123Z", DATE),
            (" 1985-04-12T23:20:50.123Z", DATE),
            ("1985-4-12T23:20:50.123Z", DATE),
            ("1985-04-2T23:20:50.123Z", DATE),
            ("1985-004-12T23:20:50.123Z", DATE),
            ("1985-04-12", T),
            ("1985-04-012T23:20:50.123Z", T),
            ("1985-04-274T23:20:50.123Z", T),
            ("1985-04-12t23:20:50.123Z", T),
            ("1985-04-12_23:20:50.123Z", T),
            ("1985-04-12 23:20:50.123Z", T),
            ("+001985-04-12T23:20:50.123Z", DATE),
            ("-000001-12-31T23:00:00.000Z", DATE),
            ("23:20:50.123Z", DATE),
            ("1985-04-12T 23:20:50.123Z", TIME),
            ("1985-04-12T3:20:50.123Z", TIME),
            ("1985-04-12T23:0:50.123Z", TIME),
            ("1985-04-12T23:20:5.123Z", TIME),
            ("1985-04-12T023:20:50.123Z", TIME),
            ("1985-04-12T23:020:50.123Z", TIME),
            ("1985-04-12T23:20:050.123Z", TZ),
            ("1985-04-12T23:20Z", TIME),
            ("1985-04-12T23:20:5Z", TIME),
            ("1985-04-32T23;20:50.123Z", TIME),
            ("1985-04-12T23:20:50.Z", FRACTION),
            ("1985-04-12T23:20:50.123456789012345678901Z", FRACTION),
            ("1985-04-12T23:20:50.123", TZ_REQUIRED),
            ("1985-04-12T23:20:50", TZ_REQUIRED),
            ("1985-04-12T23:20:50.123z", TZ),
            ("1985-04-12T23:20:50.123Z ", TZ),
            ("1985-04-12T23:20:50.123+00", TZ),
            ("1985-04-12T23:20:50.123+00:0", TZ),
            ("1985-04-12T23:20:50.123+0:00", TZ),
            ("1985-04-12T23:20:50.123+0000", TZ),
            ("1985-04-12T23:20:50.123+", TZ),
            ("1985-04-12T23:20:50.123-", TZ),
            (
                "1985-04-12T23:20:50.123-00:00",
                "timezone -00:00 is not allowed: use Z or +00:00",
            ),
            (
                "1985-04-12T23:20:50.123+24:00",
                "timezone offset hours must be between 00 and 23",
            ),
            (
                "1985-04-12T23:20:50.123+01:60",
                "timezone offset minutes must be between 00 and 59",
            ),
            (
                "1985-00-12T23:20:50.123Z",
                "month must be between 01 and 12",
            ),
            (
                "1985-13-12T23:20:50.123Z",
                "month must be between 01 and 12",
            ),
            (
                "1985-04-00T23:20:50.123Z",
                "day does not exist in that month",
            ),
            (
                "1985-04-31T23:20:50.123Z",
                "day does not exist in that month",
            ),
            (
                "2023-02-29T23:20:50.123Z",
                "day does not exist in that month",
            ),
            ("1985-04-12T25:20:50.123Z", "hour must be between 00 and 23"),
            ("1985-04-12T24:00:00Z", "hour must be between 00 and 23"),
            (
                "1985-04-12T23:99:50.123Z",
                "minute must be between 00 and 59",
            ),
            (
                "1985-04-12T23:20:61.123Z",
                "second must be between 00 and 59",
            ),
            ("1985-06-30T23:59:60Z", "second must be between 00 and 59"),
            (
                "0000-01-01T00:00:00+01:00",
                "must not be before 0000-01-01T00:00:00Z in UTC",
            ),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<Datetime>().unwrap_err();
            assert_eq!(
                (err.kind, err.input.as_str(), err.rule),
                ("datetime", s, rule)
            );
        }
    }

    #[test]
    fn to_utc_applies_offset_and_fraction() {
        let cases = [
            ("1985-04-12T23:20:50.123Z", "1985-04-12T23:20:50.123+00:00"),
            (
                "1985-04-12T23:20:50.123-07:00",
                "1985-04-13T06:20:50.123+00:00",
            ),
            (
                "1985-04-12T23:20:50.123+01:45",
                "1985-04-12T21:35:50.123+00:00",
            ),
            ("1985-04-12T23:20:50Z", "1985-04-12T23:20:50+00:00"),
            (
                "1985-04-12T23:20:50.1234567891234Z",
                "1985-04-12T23:20:50.123456789+00:00",
            ),
            ("0000-01-01T01:00:00+01:00", "0000-01-01T00:00:00+00:00"),
        ];
        for (text, utc) in cases {
            let at: Datetime = text.parse().unwrap();
            assert_eq!(at.to_utc().to_rfc3339(), utc, "{text}");
        }
    }

    #[test]
    fn from_utc_writes_milliseconds_and_z() {
        let at = Utc.with_ymd_and_hms(2024, 2, 29, 8, 5, 3).unwrap();
        let cases = [
            (at, "2024-02-29T08:05:03.000Z"),
            (
                at + TimeDelta::microseconds(123_999),
                "2024-02-29T08:05:03.123Z",
            ),
            (
                Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
                "0000-01-01T00:00:00.000Z",
            ),
            (
                Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
                "9999-12-31T23:59:59.999Z",
            ),
        ];
        for (instant, text) in cases {
            assert_eq!(Datetime::from_utc(instant), text);
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc();
        assert_eq!(Datetime::from(leap), "2016-12-31T23:59:59.999Z");
    }

    proptest! {
        #[test]
        fn valid_datetimes_round_trip(s in datetime()) {
            let parsed: Datetime = s.parse().unwrap();
            assert_round_trip(&parsed);
            let utc = parsed.to_utc();
            let again = Datetime::from_utc(utc);
            prop_assert_eq!(again.to_utc(), utc.with_nanosecond(utc.nanosecond() / 1_000_000 * 1_000_000).unwrap());
        }

        #[test]
        fn from_utc_round_trips_at_millisecond_precision(
            millis in -62_167_219_200_000i64..253_402_300_800_000,
        ) {
            let at = DateTime::from_timestamp_millis(millis).unwrap();
            let text = Datetime::from_utc(at);
            prop_assert_eq!(text.as_str().len(), 24);
            prop_assert_eq!(text.to_utc(), at);
            assert_round_trip(&text);
        }

        #[test]
        fn garbage_never_panics(
            s in "\\PC*",
            t in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,3})?(Z|[+-][0-9]{2}:[0-9]{2})?",
        ) {
            let _ = s.parse::<Datetime>();
            let _ = t.parse::<Datetime>();
        }
    }
}
