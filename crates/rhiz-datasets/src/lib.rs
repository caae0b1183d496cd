//! Rhiz event datasets: synthetic data for benchmarks and tests, and real
//! trust networks converted from edge lists, both as NDJSON ingestion events.
//!
//! Every line is an ingestion body of CONTRACT §4.2 ([`IngestionLine`]):
//! the §4.4 flat payload fields plus the full lexicon `record`, built from
//! `rhiz-protocol`'s typed records and checked by its [`Event`] rules, so a
//! line is valid by construction.
//!
//! - [`generate`] writes a seeded synthetic network (`rhiz gen`): profiles,
//!   then relationships, then attestations, with an optional Sybil region.
//! - [`EdgeListReader`] converts a `source,target,weight[,time]` CSV
//!   (`rhiz import --format edges`); the [`edges`] module documents every
//!   mapping rule.
//!
//! [`Event`]: rhiz_protocol::Event
//!
//! ```
//! use rhiz_datasets::{EdgeListReader, EdgeOptions, Scale};
//!
//! let csv = "source,target,weight\nalice,bob,8\nbob,carol,-3\n";
//! let reader = EdgeListReader::new(csv.as_bytes(), EdgeOptions::new(Scale::Rating))?;
//! let types: Vec<String> = reader
//!     .map(|line| line.map(|l| l.to_json()["payload"]["type"].to_string()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(types, ["\"transactional\"", "\"distrust\""]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cid;
pub mod edges;
mod error;
mod gen;
mod hash;
mod ids;
mod ingestion_line;
mod time;

pub use edges::{EdgeListReader, EdgeOptions, Scale, DISTRUST_TYPE};
pub use error::{DatasetError, LineError};
pub use gen::{generate, GenConfig, GenReport, SybilConfig, SPAN_DAYS};
pub use ids::map_identifier;
pub use ingestion_line::IngestionLine;
