//! A running server as the import's destination: batches posted to
//! `POST /internal/events/batch` with `X-Internal-Key`.

use std::time::Duration;

use anyhow::Context;
use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use rhiz_events::async_trait;
use rhiz_protocol::Event;
use serde_json::Value;

use super::{Outcome, Sink};
use crate::ingest::ingestion_body;

/// Posts events to a server's batch ingestion route.
#[derive(Debug)]
pub struct RemoteSink {
    client: reqwest::Client,
    url: String,
    key: String,
}

impl RemoteSink {
    /// A sink for the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, key: String) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            client,
            url: format!("{}/internal/events/batch", base.trim_end_matches('/')),
            key,
        })
    }
}

#[async_trait]
impl Sink for RemoteSink {
    async fn submit(&mut self, events: &[Event]) -> anyhow::Result<Vec<Outcome>> {
        let bodies: Vec<Value> = events.iter().map(ingestion_body).collect();
        let response = self
            .client
            .post(&self.url)
            .header("x-internal-key", &self.key)
            .json(&bodies)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_secs(1), Duration::from_secs);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match status {
            StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE => {}
            _ => anyhow::bail!(
                "{} answered {status}: {}",
                self.url,
                body.get("detail").unwrap_or(&body)
            ),
        }
        let Some(results) = body.get("results").and_then(Value::as_array) else {
            // A 503 without results: the whole batch was refused.
            return Ok(vec![Outcome::Refused(retry_after); events.len()]);
        };
        anyhow::ensure!(
            results.len() == events.len(),
            "{} answered {} results for {} events",
            self.url,
            results.len(),
            events.len()
        );
        Ok(results
            .iter()
            .map(|result| match result["status"].as_str() {
                Some("enqueued") => Outcome::Accepted,
                Some("duplicate") => Outcome::Duplicate,
                Some("refused") => Outcome::Refused(retry_after),
                _ => Outcome::Rejected(format!(
                    "{}: {}",
                    result["error"]["field"].as_str().unwrap_or("?"),
                    result["error"]["message"]
                        .as_str()
                        .unwrap_or("rejected by the server")
                )),
            })
            .collect())
    }
}
