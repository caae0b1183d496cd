//! The subcommands besides `serve` and `config`: `import`, `gen`, `dlq`.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

use crate::cli::{DlqAction, DlqArgs, GenArgs, ImportArgs, ScaleArg};
use crate::config::Config;
use crate::import::{self, ImportOptions, RemoteSink};
use crate::AppState;

/// `rhiz import`: offline into the configured storage, or to `--server`.
pub async fn import(args: &ImportArgs, config: Config) -> anyhow::Result<()> {
    let options = ImportOptions {
        file: args.file.clone(),
        format: args.format,
        scale: match args.scale {
            ScaleArg::Rating => rhiz_datasets::Scale::Rating,
            ScaleArg::Percent => rhiz_datasets::Scale::Percent,
        },
        batch: args.batch,
    };
    let started = Instant::now();
    let summary = match &args.server {
        Some(server) => {
            let mut sink = RemoteSink::new(server, internal_key(&config)?)?;
            import::run(&options, &mut sink).await?
        }
        None => {
            let store_url = config.store_url();
            let store = rhiz_store::open(&store_url).await.with_context(|| {
                format!(
                    "cannot open the store at {}",
                    rhiz_store::mask_password(&store_url)
                )
            })?;
            let state = AppState::start(store, config).await?;
            let summary = import::run_offline(&state, &options).await;
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
    let base = args
        .server
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    let base = base.trim_end_matches('/');
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
    let response = request
        .header("x-internal-key", key)
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
