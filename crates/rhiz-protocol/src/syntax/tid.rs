//! The TID syntax (<https://atproto.com/specs/tid>).

use super::string_identifier;

string_identifier!(
    /// A syntactically valid Timestamp Identifier: a 64-bit integer written
    /// as 13 characters of base32-sortable (`234567abcdefghijklmnopqrstuvwxyz`).
    ///
    /// The integer holds microseconds since the UNIX epoch (53 bits) and a
    /// clock identifier (10 bits). TIDs sort as text in time order, so the
    /// derived `Ord` is chronological.
    ///
    /// ```
    /// use rhiz_protocol::Tid;
    ///
    /// let tid = Tid::from_parts(1_700_000_000_000_000, 7);
    /// assert_eq!(tid.as_str().len(), 13);
    /// assert_eq!(tid.timestamp_micros(), 1_700_000_000_000_000);
    /// assert_eq!(tid.clock_id(), 7);
    /// assert_eq!(tid.as_str().parse::<Tid>()?, tid);
    ///
    /// assert!(Tid::from_parts(1, 0) < Tid::from_parts(2, 0));
    /// assert!("3JZFCIJPJ2Z2A".parse::<Tid>().is_err());
    /// # Ok::<(), rhiz_protocol::SyntaxError>(())
    /// ```
    Tid,
    "TID",
    check
);

/// The TID length, in characters.
const LEN: usize = 13;

/// The base32-sortable alphabet, in value order.
const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// Value of each byte in [`ALPHABET`], or `NOT_BASE32`.
const DECODE: [u8; 256] = {
    let mut table = [NOT_BASE32; 256];
    let mut i = 0;
    while i < 32 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const NOT_BASE32: u8 = 0xff;

/// Bits of the timestamp field.
const TIMESTAMP_BITS: u32 = 53;
/// Bits of the clock identifier field.
const CLOCK_ID_BITS: u32 = 10;

/// Checks `s` against the TID syntax; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.len() != LEN {
        return Err("must be exactly 13 characters");
    }
    if b.iter().any(|&c| DECODE[c as usize] == NOT_BASE32) {
        return Err(
            "may only contain the base32-sortable characters 234567abcdefghijklmnopqrstuvwxyz",
        );
    }
    // 13 characters carry 65 bits: the first one's high bit must be 0 for the
    // value to fit in 64 bits. That is the spec's reference regex
    // `^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$`.
    if DECODE[b[0] as usize] >= 16 {
        return Err("first character must be one of 234567abcdefghij (high bit 0)");
    }
    Ok(())
}

impl Tid {
    /// Builds the TID of a timestamp (microseconds since the UNIX epoch) and a
    /// clock identifier. Only the low 53 bits of `timestamp_micros` (enough
    /// until the year 2255) and the low 10 bits of `clock_id` are kept.
    pub fn from_parts(timestamp_micros: u64, clock_id: u16) -> Tid {
        let timestamp = timestamp_micros & ((1 << TIMESTAMP_BITS) - 1);
        let clock = u64::from(clock_id) & ((1 << CLOCK_ID_BITS) - 1);
        Tid::from_u64((timestamp << CLOCK_ID_BITS) | clock)
    }

    /// Builds the TID of a 64-bit integer (its first character is always
    /// below `k`, so any `u64` gives a valid TID).
    fn from_u64(value: u64) -> Tid {
        let mut text = String::with_capacity(LEN);
        for i in (0..LEN as u32).rev() {
            // i = 12 takes bits 60..64, i = 0 takes bits 0..5.
            let digit = (value >> (5 * i)) & 31;
            text.push(char::from(ALPHABET[digit as usize]));
        }
        Tid::from_checked(text)
    }

    /// The TID as the 64-bit integer it encodes.
    pub fn to_u64(&self) -> u64 {
        // The first character is below 16, so the 65 bits fit in 64.
        self.0
            .bytes()
            .fold(0u64, |acc, c| (acc << 5) | u64::from(DECODE[c as usize]))
    }

    /// Microseconds since the UNIX epoch: the integer without its 10
    /// clock-identifier bits. Below 2^53 for every TID this crate builds;
    /// parsed TIDs may set the spec's unused top bit, giving up to 2^54 - 1.
    pub fn timestamp_micros(&self) -> u64 {
        self.to_u64() >> CLOCK_ID_BITS
    }

    /// The clock identifier: the low 10 bits.
    pub fn clock_id(&self) -> u16 {
        (self.to_u64() & ((1 << CLOCK_ID_BITS) - 1)) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, tid};
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_tids() {
        for s in [
            "3jzfcijpj2z2a",
            "7777777777777",
            "3zzzzzzzzzzzz",
            "2222222222222",
            "jzzzzzzzzzzzz",
            "bzzzzzzzzzzzz",
        ] {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn rejects_invalid_tids_with_the_broken_rule() {
        const LENGTH: &str = "must be exactly 13 characters";
        const ALPHA: &str =
            "may only contain the base32-sortable characters 234567abcdefghijklmnopqrstuvwxyz";
        const HIGH_BIT: &str = "first character must be one of 234567abcdefghij (high bit 0)";
        let invalid = [
            ("", LENGTH),
            ("3jzfcijpj2z2aa", LENGTH),
            ("3jzfcijpj2z2", LENGTH),
            ("222", LENGTH),
            ("3jzf-cij-pj2z-2a", LENGTH),
            ("3jzfcijpj2z21", ALPHA),
            ("0000000000000", ALPHA),
            ("3JZFCIJPJ2Z2A", ALPHA),
            ("3jzfcijpj2z2 ", ALPHA),
            ("3jzf-cijpj2z2", ALPHA),
            ("zzzzzzzzzzzzz", HIGH_BIT),
            ("kjzfcijpj2z2a", HIGH_BIT),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<Tid>().unwrap_err();
            assert_eq!((err.kind, err.input.as_str(), err.rule), ("TID", s, rule));
        }
    }

    #[test]
    fn decodes_known_values() {
        let zero: Tid = "2222222222222".parse().unwrap();
        assert_eq!(
            (zero.to_u64(), zero.timestamp_micros(), zero.clock_id()),
            (0, 0, 0)
        );
        assert_eq!(Tid::from_parts(0, 0), zero);
        let max = Tid::from_parts(u64::MAX, u16::MAX);
        assert_eq!(max, "bzzzzzzzzzzzz", "53 + 10 bits set");
        assert_eq!(max.timestamp_micros(), (1 << 53) - 1);
        assert_eq!(max.clock_id(), 1023);
        let top: Tid = "jzzzzzzzzzzzz".parse().unwrap();
        assert_eq!(top.to_u64(), u64::MAX);
        assert_eq!(Tid::from_parts(1, 1), "2222222222323");
    }

    proptest! {
        #[test]
        fn parts_round_trip(timestamp in 0u64..(1 << 53), clock in 0u16..1024) {
            let built = Tid::from_parts(timestamp, clock);
            prop_assert_eq!(built.timestamp_micros(), timestamp);
            prop_assert_eq!(built.clock_id(), clock);
            assert_round_trip(&built);
        }

        #[test]
        fn text_order_is_time_order(a in 0u64..(1 << 53), b in 0u64..(1 << 53), c in 0u16..1024) {
            prop_assert_eq!(a.cmp(&b), Tid::from_parts(a, c).cmp(&Tid::from_parts(b, c)));
        }

        #[test]
        fn valid_tids_round_trip(s in tid()) {
            let parsed: Tid = s.parse().unwrap();
            assert_round_trip(&parsed);
            let value = parsed.to_u64();
            prop_assert_eq!(Tid::from_u64(value), parsed.clone());
            prop_assert_eq!(value >> 10, parsed.timestamp_micros());
        }

        #[test]
        fn garbage_never_panics(s in "\\PC*", t in "[0-9a-zA-Z]{13}") {
            let _ = s.parse::<Tid>();
            let _ = t.parse::<Tid>();
        }
    }
}
