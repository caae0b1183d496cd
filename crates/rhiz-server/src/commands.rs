//! The subcommands besides `serve` and `config`: `import`, `gen`, `dlq`,
//! `cache`.

use std::io::Write;
use std::num::NonZeroUsize;
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

use crate::cli::{CacheAction, CacheArgs, DlqAction, DlqArgs, GenArgs, ImportArgs, ScaleArg};
use crate::config::Config;
use crate::import::{self, RemoteSink, Source};
use crate::ImportState;

/// The least queue (and lane) capacity an offline import runs with.
const BULK_QUEUE_CAPACITY: usize = 50_000;
/// The least apply batch an offline import runs with.
const BULK_APPLY_BATCH: NonZeroUsize = NonZeroUsize::new(4_096).unwrap();

/// `rhiz import`: offline into the configured storage, or to `--server`.
///
/// Offline, the pipeline runs with at least `BULK_QUEUE_CAPACITY` queued
/// events and batches of `BULK_APPLY_BATCH`, and submits the file in
/// chunks of that size unless `--batch` says otherwise: nothing waits on a
/// single event's latency in a bulk load, and larger batches share one
/// store transaction, one invalidation and one log commit among more
/// events (on 100,000 relationships: 26,000–28,800 events/s against 17,000
/// with a lane of 2,500 and batches of 512; chunks of 4,096 rather than
/// 1,000 added 6 %). It runs on an [`ImportState`]: no graph, no trust.
pub async fn import(args: &ImportArgs, config: Config) -> anyhow::Result<()> {
    let scale = match args.scale {
        ScaleArg::Rating => rhiz_datasets::Scale::Rating,
        ScaleArg::Percent => rhiz_datasets::Scale::Percent,
    };
    // The file first: a wrong path touches no storage.
    let source = Source::open(&args.file, args.format, scale)?;
    let batch = args.batch.unwrap_or(match args.server {
        Some(_) => import::DEFAULT_BATCH,
        None => BULK_APPLY_BATCH,
    });
    let started = Instant::now();
    let summary = match &args.server {
        Some(server) => {
            let mut sink = RemoteSink::new(server, internal_key(&config)?)?;
            import::run(source, batch, &mut sink).await?
        }
        None => {
            let store_url = config.store_url();
            let store = rhiz_store::open(&store_url).await.with_context(|| {
                format!(
                    "cannot open the store at {}",
                    rhiz_store::mask_password(&store_url)
                )
            })?;
            let config = Config {
                event_queue_capacity: config.event_queue_capacity.max(BULK_QUEUE_CAPACITY),
                event_lane_capacity: config.event_lane_capacity.max(BULK_QUEUE_CAPACITY),
                event_apply_batch: config.event_apply_batch.max(BULK_APPLY_BATCH.get()),
                ..config
            };
            let state = ImportState::start(store, &config).await?;
            let summary = import::run_offline(&state.pipeline, source, batch).await;
            let metrics = state.pipeline.metrics();
            state.shutdown().await;
            let summary = summary?;
            eprintln!(
                "applied {} events, {} dead-lettered",
                metrics.total.applied, metrics.total.dead_lettered
            );
            summary
        }
    };
    eprintln!("{}", summary.describe(started.elapsed()));
    Ok(())
}

/// `rhiz gen`: the synthetic network to a file or standard output; the
/// report (and the Sybil DIDs, when asked) to standard error and a file.
pub fn generate(args: &GenArgs) -> anyhow::Result<()> {
    let now = match &args.now {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .with_context(|| format!("--now must be an RFC 3339 datetime, got {text:?}"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let config = rhiz_datasets::GenConfig {
        seed: args.seed,
        dids: args.dids,
        relationships: args.relationships,
        attestation_ratio: args.attestation_ratio,
        communities: args.communities,
        sybil: args.sybil_dids.map(|fake_dids| rhiz_datasets::SybilConfig {
            fake_dids,
            attack_edges: args.attack_edges,
        }),
        now,
    };
    let report = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            let report = rhiz_datasets::generate(&config, &mut out)?;
            out.flush()?;
            report
        }
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            let report = rhiz_datasets::generate(&config, &mut out)?;
            out.flush()?;
            report
        }
    };
    if let Some(path) = &args.sybil_report {
        let mut text = String::new();
        for did in &report.sybil_dids {
            text.push_str(did.as_str());
            text.push('\n');
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "{} lines: {} profiles, {} relationships, {} attestations, {} Sybil DIDs ({} Sybil relationships, {} attack edges)",
        report.lines,
        report.profiles,
        report.relationships,
        report.attestations,
        report.sybil_dids.len(),
        report.sybil_relationships,
        report.attack_edges
    );
    Ok(())
}

/// `rhiz dlq`: the dead-letter routes of a running server.
pub async fn dead_letters(args: &DlqArgs, config: &Config) -> anyhow::Result<()> {
    let base = server_base(args.server.as_deref(), config);
    let key = internal_key(config)?;
    let client = reqwest::Client::new();
    let url = format!("{base}/internal/events/dead-letter");
    let request = match &args.action {
        DlqAction::List { event_type, limit } => {
            let mut query = vec![("limit", limit.to_string())];
            query.extend(event_type.clone().map(|t| ("event_type", t)));
            client.get(&url).query(&query)
        }
        DlqAction::Replay {
            ids,
            event_type,
            all,
        } => {
            let mut body = serde_json::json!({"all": all});
            if !ids.is_empty() {
                body["event_ids"] = serde_json::json!(ids);
            }
            if let Some(event_type) = event_type {
                body["event_type"] = serde_json::json!(event_type);
            }
            client.post(format!("{url}/replay")).json(&body)
        }
        DlqAction::Purge {
            event_id,
            event_type,
        } => {
            let query: Vec<(&str, String)> = event_id
                .clone()
                .map(|id| ("event_id", id))
                .into_iter()
                .chain(event_type.clone().map(|t| ("event_type", t)))
                .collect();
            client.delete(&url).query(&query)
        }
    };
    print_reply(request.header("x-internal-key", key), &base).await
}

/// `rhiz cache`: the operator routes of a running server's cache.
pub async fn cache(args: &CacheArgs, config: &Config) -> anyhow::Result<()> {
    let base = server_base(args.server.as_deref(), config);
    let key = config.admin_api_key.first().cloned().context(
        "no admin key: set RHIZ_ADMIN_API_KEY (or admin_api_key in rhiz.toml) \
         to a key the server accepts",
    )?;
    let client = reqwest::Client::new();
    let request = match &args.action {
        CacheAction::Stats => client.get(format!("{base}/api/v1/cache/stats")),
        CacheAction::Invalidate { key, tag, pattern } => {
            let body: serde_json::Map<String, Value> =
                [("key", key), ("tag", tag), ("pattern", pattern)]
                    .into_iter()
                    .filter_map(|(name, value)| {
                        Some((name.to_owned(), Value::from(value.clone()?)))
                    })
                    .collect();
            client
                .post(format!("{base}/api/v1/cache/invalidate"))
                .json(&body)
        }
    };
    print_reply(request.header("x-admin-key", key), &base).await
}

/// `--server`, or the configured listen address, without a trailing `/`.
fn server_base(server: Option<&str>, config: &Config) -> String {
    server
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http://{}", config.listen))
        .trim_end_matches('/')
        .to_owned()
}

/// Sends `request` to the server at `base` and prints the JSON reply;
/// a non-2xx reply is an error carrying the server's `detail`.
async fn print_reply(request: reqwest::RequestBuilder, base: &str) -> anyhow::Result<()> {
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(
        status.is_success(),
        "{base} answered {status}: {}",
        body.get("detail").unwrap_or(&body)
    );
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}

/// The first configured internal key, which the remote commands send.
fn internal_key(config: &Config) -> anyhow::Result<String> {
    config.internal_api_key.first().cloned().context(
        "no internal key: set RHIZ_INTERNAL_API_KEY (or internal_api_key in rhiz.toml) \
         to a key the server accepts",
    )
}
