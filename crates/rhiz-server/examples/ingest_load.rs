//! HTTP ingestion load: posts the lines of an NDJSON file of ingestion bodies
//! to `POST /internal/events/batch`, at full speed or at a steady rate, then
//! waits until the server has applied everything and prints the server's own
//! latency histograms.
//!
//! ```text
//! cargo run --release -p rhiz-server --example ingest_load -- \
//!     http://127.0.0.1:8080 KEY events.ndjson [RATE_PER_S|0] [BATCH] [CONNECTIONS]
//! ```
//!
//! Refused batches (503) are retried after `Retry-After`; the accepted rate
//! counts events acknowledged durable, the applied rate events applied.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: ingest_load URL KEY FILE [RATE_PER_S|0] [BATCH] [CONNECTIONS]");
        std::process::exit(2);
    }
    let (base, key, file) = (args[1].clone(), args[2].clone(), &args[3]);
    let rate: f64 = args.get(4).map_or(Ok(0.0), |v| v.parse())?;
    let batch: usize = args.get(5).map_or(Ok(1_000), |v| v.parse())?;
    let connections: usize = args.get(6).map_or(Ok(4), |v| v.parse())?;

    let text = std::fs::read_to_string(file)?;
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let batches: Vec<String> = lines.chunks(batch).map(|chunk| chunk.join("\n")).collect();
    let total = lines.len() as u64;
    let batches = Arc::new(batches);
    let next = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let url = format!("{base}/internal/events/batch");
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (batches, next, accepted, client, url, key) = (
                Arc::clone(&batches),
                Arc::clone(&next),
                Arc::clone(&accepted),
                client.clone(),
                url.clone(),
                key.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(body) = batches.get(i) else { return };
                    if rate > 0.0 {
                        // Batch i is due when i × batch events have been offered at `rate`.
                        let due = Duration::from_secs_f64((i * batch) as f64 / rate);
                        let elapsed = started.elapsed();
                        if due > elapsed {
                            tokio::time::sleep(due - elapsed).await;
                        }
                    }
                    post_until_accepted(&client, &url, &key, body, &accepted).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let accept_secs = started.elapsed().as_secs_f64();
    let metrics_url = format!("{base}/internal/events/metrics");
    let metrics = loop {
        let metrics: Value = client
            .get(&metrics_url)
            .header("x-internal-key", &key)
            .send()
            .await?
            .json()
            .await?;
        if metrics["events_in_queue"] == 0 {
            break metrics;
        }
        // The metrics route counts the log's rows: polling it often would
        // load the server being measured.
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let applied_secs = started.elapsed().as_secs_f64();
    let accepted = accepted.load(Ordering::Relaxed);
    println!(
        "events {total} accepted {accepted} in {accept_secs:.2} s = {:.0} events/s accepted",
        accepted as f64 / accept_secs
    );
    println!(
        "all applied after {applied_secs:.2} s = {:.0} events/s applied",
        accepted as f64 / applied_secs
    );
    println!(
        "ingest_to_applied_latency {}",
        metrics["ingest_to_applied_latency"]
    );
    println!("apply_latency {}", metrics["apply_latency"]);
    println!("dead_letter_count {}", metrics["dead_letter_count"]);
    Ok(())
}

/// Posts one NDJSON batch, resending the refused items' batch until every
/// item is enqueued or a duplicate.
async fn post_until_accepted(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &str,
    accepted: &AtomicU64,
) {
    let mut body = body.to_owned();
    loop {
        let response = match client
            .post(url)
            .header("x-internal-key", key)
            .header("content-type", "application/x-ndjson")
            .body(body.clone())
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                eprintln!("request failed: {error}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let status = response.status();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        let Some(results) = reply["results"].as_array().cloned() else {
            eprintln!("{url} answered {status}: {reply}; retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let lines: Vec<&str> = body.lines().collect();
        let mut refused = Vec::new();
        for (line, result) in lines.iter().zip(&results) {
            match result["status"].as_str() {
                Some("enqueued" | "duplicate") => {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                Some("refused") => refused.push(*line),
                _ => eprintln!("rejected: {result}"),
            }
        }
        if refused.is_empty() {
            return;
        }
        body = refused.join("\n");
        tokio::time::sleep(Duration::from_millis(
            retry_after.map_or(100, |s| s * 1000).min(1000),
        ))
        .await;
    }
}
