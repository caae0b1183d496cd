//! The raw baseline of the ingest benchmark (`bench/ingest.sh`): the
//! relationship rows of an NDJSON file of `relationship.created` bodies,
//! inserted into a bare SQLite table shaped as the store's (every column and
//! the URI key), with what the store's writer uses: 16 KiB pages, WAL,
//! `synchronous=NORMAL`, prepared statements, one transaction per 1,000
//! rows. No parsing, validation, event log, graph or cache: the lines are
//! decoded into rows before the clock starts.
//!
//! ```text
//! cargo run --release -p rhiz-store --example raw_insert_baseline -- EVENTS.ndjson DB_PATH
//! ```
//!
//! Prints `RESULT run baseline events_per_s=N`.

use std::io::BufRead;
use std::time::Instant;

use rusqlite::{params, Connection};
use serde_json::Value;

const SCHEMA: &str = "
PRAGMA page_size = 16384;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
CREATE TABLE relationships (
    uri TEXT NOT NULL PRIMARY KEY, cid TEXT NOT NULL, author TEXT NOT NULL,
    rel_type TEXT NOT NULL, strength INTEGER NOT NULL, context TEXT NOT NULL,
    visibility TEXT NOT NULL, allow_discovery INTEGER NOT NULL,
    allow_attestation INTEGER NOT NULL, started_at TEXT NOT NULL,
    last_interaction_at TEXT NOT NULL, created_at TEXT NOT NULL, indexed_at TEXT NOT NULL,
    record TEXT NOT NULL, participant0 TEXT, participant1 TEXT, signed0 INTEGER,
    signed1 INTEGER, strength_deviation INTEGER
) STRICT;
";

/// One row's values, decoded before timing.
struct Row {
    uri: String,
    cid: String,
    author: String,
    rel_type: String,
    strength: i64,
    context: String,
    created_at: String,
    record: String,
    participants: [String; 2],
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn row(line: &str) -> Row {
    let body: Value = serde_json::from_str(line).expect("a JSON line");
    let payload = &body["payload"];
    let record = &payload["record"];
    Row {
        uri: text(&payload["uri"]),
        cid: text(&payload["cid"]),
        author: text(&body["did"]),
        rel_type: text(&record["type"]),
        strength: record["strength"].as_i64().unwrap_or_default(),
        context: text(&record["context"]),
        created_at: text(&record["createdAt"]),
        record: record.to_string(),
        participants: [0, 1].map(|i| text(&record["participants"][i])),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(events), Some(db)) = (args.next(), args.next()) else {
        return Err("usage: raw_insert_baseline EVENTS.ndjson DB_PATH".into());
    };
    let file = std::io::BufReader::new(std::fs::File::open(&events)?);
    let rows: Vec<Row> = file
        .lines()
        .map(|line| line.map(|l| row(&l)))
        .collect::<Result<_, _>>()?;
    let _ = std::fs::remove_file(&db);
    let mut conn = Connection::open(&db)?;
    conn.execute_batch(SCHEMA)?;

    let started = Instant::now();
    for chunk in rows.chunks(1000) {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO relationships VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, 'public', 1, 1, ?7, ?7, ?7, ?7, ?8, ?9, ?10, 0, 0, 0)",
            )?;
            for r in chunk {
                insert.execute(params![
                    r.uri,
                    r.cid,
                    r.author,
                    r.rel_type,
                    r.strength,
                    r.context,
                    r.created_at,
                    r.record,
                    r.participants[0],
                    r.participants[1],
                ])?;
            }
        }
        tx.commit()?;
    }
    let elapsed = started.elapsed();
    println!(
        "RESULT run baseline events_per_s={:.0}",
        rows.len() as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
