//! Validated newtypes for the AT Protocol identifier syntaxes.
//!
//! Each type is a `String` that passed its syntax check. They share one
//! implementation of `FromStr`, `Display`, `AsRef<str>` and serde (which
//! validates on deserialize) through [`string_identifier!`].

mod at_uri;
mod cid;
mod datetime;
mod did;
mod handle;
mod nsid;
mod record_key;
mod tid;

pub use at_uri::AtUri;
pub use cid::Cid;
pub use datetime::Datetime;
pub use did::Did;
pub use handle::Handle;
pub use nsid::Nsid;
pub use record_key::RecordKey;
pub use tid::Tid;

/// Declares a validated string newtype.
///
/// `$check` is a `fn(&str) -> Result<(), &'static str>` returning the broken
/// rule on failure.
macro_rules! string_identifier {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Gives back the owned text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::SyntaxError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $check(s).map_err(|rule| $crate::SyntaxError {
                    kind: $kind,
                    input: s.to_owned(),
                    rule,
                })?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::SyntaxError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                match $check(&s) {
                    Ok(()) => Ok(Self(s)),
                    Err(rule) => Err($crate::SyntaxError { kind: $kind, input: s, rule }),
                }
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
