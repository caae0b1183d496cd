//! Reading an import file: one event per line (ingestion bodies or Jetstream
//! events) or one relationship per CSV row (edge lists), each validated on
//! its own and numbered by its line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Utc;
use rhiz_datasets::{EdgeListReader, EdgeOptions, Scale};
use rhiz_protocol::{Event, Json};

use crate::ingest::{event_from_jetstream, parse_ingestion_json, IngestError};

/// What an import file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// NDJSON of ingestion bodies (CONTRACT.md §4.2), as `rhiz gen` writes.
    Ingestion,
    /// NDJSON of Jetstream events (CONTRACT.md §8).
    Jetstream,
    /// CSV `source,target,weight[,time]` of a trust network (see rhiz-datasets).
    Edges,
}

/// One line's outcome.
#[derive(Debug)]
pub enum Item {
    /// A valid event.
    Event(Box<Event>),
    /// A line that is valid but not a Rhiz event (a Jetstream identity event, a blank line).
    Skipped,
    /// A line that breaks a rule.
    Invalid(String),
}

/// The lines of a file, with a shared count of the bytes read so far (for progress).
pub struct Source {
    items: Box<dyn Iterator<Item = (u64, Item)> + Send>,
    /// Bytes of the file read so far.
    pub bytes_read: Arc<AtomicU64>,
    /// The file's size in bytes.
    pub total_bytes: u64,
}

impl Source {
    /// Opens `path` as `format`; `scale` is needed for edge lists.
    pub fn open(path: &Path, format: Format, scale: Scale) -> anyhow::Result<Source> {
        let file = File::open(path)
            .map_err(|error| anyhow::anyhow!("cannot open {}: {error}", path.display()))?;
        let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bytes_read = Arc::new(AtomicU64::new(0));
        let reader = BufReader::with_capacity(
            1 << 20,
            CountingReader {
                inner: file,
                count: Arc::clone(&bytes_read),
            },
        );
        let items: Box<dyn Iterator<Item = (u64, Item)> + Send> = match format {
            Format::Ingestion => Box::new(json_lines(reader, |value| {
                parse_ingestion_json(value, Utc::now()).map(Some)
            })),
            Format::Jetstream => Box::new(json_lines(reader, event_from_jetstream)),
            Format::Edges => {
                let mut edges = EdgeListReader::new(reader, EdgeOptions::new(scale))?;
                Box::new(std::iter::from_fn(move || {
                    let item = edges.next()?;
                    let line = edges.line_number();
                    Some(match item {
                        Ok(line_event) => (line, Item::Event(Box::new(line_event.into_event()))),
                        Err(error) => (error.line, Item::Invalid(error.error.to_string())),
                    })
                }))
            }
        };
        Ok(Source {
            items,
            bytes_read,
            total_bytes,
        })
    }

    /// Up to `n` next items.
    pub fn next_chunk(&mut self, n: usize) -> Vec<(u64, Item)> {
        self.items.by_ref().take(n).collect()
    }
}

/// Lines of JSON, each turned into an event by `convert` (`None`: not a
/// Rhiz event). Blank lines are skipped; a line that is not UTF-8 text or
/// not JSON is reported and the next one read; an I/O error ends the file
/// with an error item. One buffer serves every line.
fn json_lines<R, F>(mut reader: R, convert: F) -> impl Iterator<Item = (u64, Item)> + Send
where
    R: BufRead + Send,
    F: Fn(&Json<'_>) -> Result<Option<Event>, IngestError> + Send,
{
    let mut line = Vec::new();
    let mut number = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        line.clear();
        let read = reader.read_until(b'\n', &mut line);
        if matches!(read, Ok(0)) {
            return None;
        }
        number += 1;
        let item = match read {
            Err(error) => {
                failed = true;
                Item::Invalid(format!("cannot read the file: {error}"))
            }
            Ok(_) => json_line(&line, &convert),
        };
        Some((number, item))
    })
}

/// One line of [`json_lines`], its end of line included.
fn json_line<F>(line: &[u8], convert: &F) -> Item
where
    F: Fn(&Json<'_>) -> Result<Option<Event>, IngestError>,
{
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(error) => return Item::Invalid(format!("not UTF-8 text: {error}")),
    };
    if text.trim().is_empty() {
        return Item::Skipped;
    }
    match serde_json::from_str::<Json<'_>>(text) {
        Err(error) => Item::Invalid(format!("not JSON: {error}")),
        Ok(value) => match convert(&value) {
            Ok(Some(event)) => Item::Event(Box::new(event)),
            Ok(None) => Item::Skipped,
            Err(error) => Item::Invalid(error.to_string()),
        },
    }
}

/// Counts the bytes read through it.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line is numbered and judged on its own: a line that is not
    /// UTF-8 or not JSON does not end the file; blank lines, `\r\n` ends
    /// and a last line without an end are read as such.
    #[test]
    fn every_line_is_numbered_and_judged_alone() {
        let input: &[u8] = b"{\"a\":1}\n\xff\xfe{}\n\n{\"a\":2}\r\nnot json\n{\"a\":3}";
        let items: Vec<(u64, String)> = json_lines(input, |_| Ok(None))
            .map(|(number, item)| {
                let item = match item {
                    Item::Event(_) => "event".to_owned(),
                    Item::Skipped => "skipped".to_owned(),
                    Item::Invalid(message) => message,
                };
                (number, item)
            })
            .collect();
        assert_eq!(items.len(), 6, "{items:?}");
        for (i, (number, _)) in items.iter().enumerate() {
            assert_eq!(*number, i as u64 + 1);
        }
        let skipped = |n: usize| items[n - 1].1 == "skipped";
        assert!(
            skipped(1) && skipped(3) && skipped(4) && skipped(6),
            "{items:?}"
        );
        assert!(items[1].1.starts_with("not UTF-8 text: "), "{items:?}");
        assert!(items[4].1.starts_with("not JSON: "), "{items:?}");
    }
}
