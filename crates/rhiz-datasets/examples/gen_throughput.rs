//! Measures the generator's throughput.
//!
//! `cargo run --release -p rhiz-datasets --example gen_throughput -- [relationships] [dids] [--stdout]`
//!
//! Defaults: 1,000,000 relationships among 100,000 DIDs, 30% attested,
//! written to a byte counter (or to stdout with `--stdout`).

use std::io::{self, Write};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use rhiz_datasets::{generate, GenConfig};

/// Counts the bytes written to it.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> Result<u64, std::num::ParseIntError> {
        args.get(i)
            .filter(|a| !a.starts_with("--"))
            .map_or(Ok(default), |a| a.parse())
    };
    let mut config = GenConfig::new(
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .ok_or("date")?,
    );
    config.seed = 42;
    config.relationships = number(0, 1_000_000)?;
    config.dids = u32::try_from(number(1, 100_000)?)?;
    config.communities = (config.dids / 1_000).max(1);
    let started = Instant::now();
    let (report, bytes) = if args.iter().any(|a| a == "--stdout") {
        let stdout = io::stdout();
        let report = generate(&config, &mut stdout.lock())?;
        (report, 0)
    } else {
        let mut counter = Counter(0);
        let report = generate(&config, &mut counter)?;
        (report, counter.0)
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} lines ({} profiles, {} relationships, {} attestations), {:.1} MB in {:.2} s: {:.0} lines/s",
        report.lines,
        report.profiles,
        report.relationships,
        report.attestations,
        bytes as f64 / 1e6,
        seconds,
        report.lines as f64 / seconds
    );
    Ok(())
}
