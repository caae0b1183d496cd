//! Rhiz event datasets: synthetic data for benchmarks and tests, and real
//! trust networks converted from edge lists, both as NDJSON ingestion events.
