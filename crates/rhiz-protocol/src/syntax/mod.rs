//! Validated newtypes for the AT Protocol identifier syntaxes.
//!
//! Each type is a `String` that passed its syntax check. They share one
//! implementation of `FromStr`, `Display`, `AsRef<str>`, `Borrow<str>` and
//! serde (which validates on deserialize) through [`string_identifier!`].
//!
//! The checks are hand-written byte scanners: they never allocate, and
//! parsing allocates exactly once (the owned `String`), or not at all when an
//! owned `String` is handed over with `TryFrom<String>`.

mod at_uri;
mod cid;
mod datetime;
mod did;
mod handle;
mod nsid;
mod record_key;
mod tid;

#[cfg(test)]
mod arbitrary;

pub use at_uri::AtUri;
pub use cid::Cid;
pub use datetime::Datetime;
pub use did::Did;
pub use handle::Handle;
pub use nsid::Nsid;
pub use record_key::RecordKey;
pub use tid::Tid;

/// Declares a validated string newtype. The text is shared (`Arc<str>`):
/// identifiers are immutable once checked, and an event's DIDs, URIs and
/// CIDs are copied into store rows, graph inputs and cache tags, so a
/// clone is a reference count, not an allocation.
///
/// `$check` is a `fn(&str) -> Result<(), &'static str>` returning the broken
/// rule on failure.
macro_rules! string_identifier {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0.to_string()
            }

            /// Wraps text that is already known to pass the check (a
            /// sub-slice of a validated value, or text built by a
            /// constructor of this crate). Checked again in debug builds.
            #[allow(dead_code)]
            pub(crate) fn from_checked(s: String) -> Self {
                debug_assert_eq!($check(&s), Ok(()), "{:?} is not a valid {}", s, $kind);
                Self(s.into())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::SyntaxError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match $check(s) {
                    Ok(()) => Ok(Self(s.into())),
                    Err(rule) => Err($crate::SyntaxError {
                        kind: $kind,
                        input: s.to_owned(),
                        rule,
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::SyntaxError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                match $check(&s) {
                    Ok(()) => Ok(Self(s.into())),
                    Err(rule) => Err($crate::SyntaxError { kind: $kind, input: s, rule }),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::SyntaxError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0.to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::try_from(s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_identifier;

/// A set of ASCII bytes, as a lookup table: one load per byte checked.
pub(crate) struct ByteSet([bool; 256]);

impl ByteSet {
    /// The set of ASCII letters and digits plus the bytes of `extra`.
    pub(crate) const fn alphanumeric_and(extra: &[u8]) -> ByteSet {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = (b as u8).is_ascii_alphanumeric();
            b += 1;
        }
        let mut i = 0;
        while i < extra.len() {
            table[extra[i] as usize] = true;
            i += 1;
        }
        ByteSet(table)
    }

    /// Whether `b` is in the set.
    #[inline]
    pub(crate) const fn contains(&self, b: u8) -> bool {
        self.0[b as usize]
    }

    /// Whether every byte of `bytes` is in the set.
    #[inline]
    pub(crate) fn contains_all(&self, bytes: &[u8]) -> bool {
        bytes.iter().all(|&b| self.contains(b))
    }
}

/// How a domain name label (handle label, NSID authority segment) is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LabelError {
    Empty,
    TooLong,
    BadCharacter,
    EdgeHyphen,
}

/// Letters, digits and hyphen: the bytes of a domain label.
const LABEL_BYTES: ByteSet = ByteSet::alphanumeric_and(b"-");

/// Checks one domain label: 1–63 of `[A-Za-z0-9-]`, no hyphen at either end.
#[inline]
pub(crate) fn check_domain_label(label: &[u8]) -> Result<(), LabelError> {
    let (Some(&first), Some(&last)) = (label.first(), label.last()) else {
        return Err(LabelError::Empty);
    };
    if label.len() > 63 {
        return Err(LabelError::TooLong);
    }
    if !LABEL_BYTES.contains_all(label) {
        return Err(LabelError::BadCharacter);
    }
    if first == b'-' || last == b'-' {
        return Err(LabelError::EdgeHyphen);
    }
    Ok(())
}
