//! The `rhiz` command line (clap), turned into configuration layers.
//!
//! Flags are only parsed here; [`crate::config::resolve`] validates them
//! together with the file and environment layers.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, ConfigError, ConfigLayer, LayerOrigin, SourcedLayer};

/// rhiz: the Rhiz Protocol indexer and query service.
#[derive(Debug, Parser)]
#[command(name = "rhiz", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve(ConfigFlags),
    /// Print the effective configuration (secrets masked) and exit.
    Config(ConfigFlags),
    /// Load events from a file through the pipeline: into the storage
    /// `rhiz serve` uses (offline), or into a running server (--server).
    Import(ImportArgs),
    /// Write a seeded synthetic network as NDJSON ingestion events.
    Gen(GenArgs),
    /// List, replay or purge a running server's dead letters.
    Dlq(DlqArgs),
    /// Show a running server's cache statistics, or invalidate its cache.
    Cache(CacheArgs),
}

/// `rhiz import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// What the file holds.
    #[arg(long, value_enum, default_value = "ingestion")]
    pub format: crate::import::Format,
    /// Weight scale of an edge list: `rating` (-10..10) or `percent` (0..100).
    #[arg(long, value_enum, default_value = "rating")]
    pub scale: ScaleArg,
    /// Events per submission, at least 1: by default 1,000 per request to a
    /// server (its `ingest_batch_max` by default), 4,096 offline.
    #[arg(long)]
    pub batch: Option<std::num::NonZeroUsize>,
    /// Send to a running server at this URL instead of importing offline.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Configuration (storage for offline imports, the internal key).
    #[command(flatten)]
    pub config: ConfigFlags,
}

/// The weight scales of `--format edges`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScaleArg {
    /// Ratings from -10 to +10.
    Rating,
    /// Weights from 0 to 100.
    Percent,
}

/// `rhiz gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Seed: the same arguments write the same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Honest DIDs.
    #[arg(long, default_value_t = 1_000)]
    pub dids: u32,
    /// Honest relationships.
    #[arg(long, default_value_t = 5_000)]
    pub relationships: u64,
    /// Communities.
    #[arg(long, default_value_t = 10)]
    pub communities: u32,
    /// Share (0-1) of attestable relationships that get attestations.
    #[arg(long, default_value_t = 0.3)]
    pub attestation_ratio: f64,
    /// Add a Sybil region of this many fake DIDs.
    #[arg(long, value_name = "N")]
    pub sybil_dids: Option<u32>,
    /// Relationships joining the Sybil region to the honest network.
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub attack_edges: u32,
    /// Where to write the Sybil DIDs, one per line.
    #[arg(long, value_name = "FILE")]
    pub sybil_report: Option<PathBuf>,
    /// The end of the two generated years (RFC 3339) [default: now].
    #[arg(long, value_name = "DATETIME")]
    pub now: Option<String>,
    /// Output file [default: standard output].
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `rhiz dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DlqAction,
    /// The server [default: http:// and the listen address].
    #[arg(long, value_name = "URL", global = true)]
    pub server: Option<String>,
    /// Configuration (the listen address and the internal key).
    #[command(flatten)]
    pub config: ConfigFlags,
}

/// The dead-letter operations.
#[derive(Debug, Clone, Subcommand)]
pub enum DlqAction {
    /// Print dead letters as JSON.
    List {
        /// Only this event type.
        #[arg(long)]
        event_type: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Make dead letters pending again: these ids, this type, or --all.
    Replay {
        /// Event ids.
        ids: Vec<String>,
        /// Every dead letter of this type.
        #[arg(long)]
        event_type: Option<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Delete dead letters: this id, this type, or all of them.
    Purge {
        /// Only this event id.
        #[arg(long)]
        event_id: Option<String>,
        /// Only this event type.
        #[arg(long)]
        event_type: Option<String>,
    },
}

/// `rhiz cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CacheAction,
    /// The server [default: http:// and the listen address].
    #[arg(long, value_name = "URL", global = true)]
    pub server: Option<String>,
    /// Configuration (the listen address and the admin key).
    #[command(flatten)]
    pub config: ConfigFlags,
}

/// The cache operations.
#[derive(Debug, Clone, Subcommand)]
pub enum CacheAction {
    /// Print the cache statistics as JSON.
    Stats,
    /// Invalidate one full key (`class:key`), every value with a tag, or
    /// every key matching a glob, on every instance.
    Invalidate {
        /// One full key, e.g. `profile:did:plc:alice`.
        #[arg(long, group = "what", required = true)]
        key: Option<String>,
        /// Every value carrying this tag, e.g. a DID.
        #[arg(long, group = "what")]
        tag: Option<String>,
        /// Every key matching this Redis glob, e.g. `paths:*`.
        #[arg(long, group = "what")]
        pattern: Option<String>,
    },
}

/// Flags that override configuration keys (and `--config` to pick the file).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFlags {
    /// Configuration file (TOML). Default: ./rhiz.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Directory for the embedded database [default: ./data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Store URL: sqlite://PATH or postgres://… [default: SQLite in the data dir].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Largest accepted request body in bytes [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<u64>,
    /// Log filter, e.g. `info` or `info,rhiz_server=debug` [default: info].
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

impl ConfigFlags {
    fn layer(&self) -> ConfigLayer {
        ConfigLayer {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            max_body_bytes: self.max_body_bytes,
            log_level: self.log_level.clone(),
            log_format: self.log_format.clone(),
            ..ConfigLayer::default()
        }
    }

    /// Resolves defaults < file < `RHIZ_*` environment < these flags.
    pub fn resolve(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<config::Config, ConfigError> {
        let mut layers = Vec::new();
        let file = match &self.config {
            Some(path) => Some(path.clone()),
            None => {
                let default = PathBuf::from(config::DEFAULT_CONFIG_FILE);
                default.exists().then_some(default)
            }
        };
        if let Some(path) = file {
            layers.push(SourcedLayer {
                layer: ConfigLayer::from_file(&path)?,
                origin: LayerOrigin::File(path),
            });
        }
        layers.push(SourcedLayer {
            layer: ConfigLayer::from_env(env)?,
            origin: LayerOrigin::Env,
        });
        layers.push(SourcedLayer {
            layer: self.layer(),
            origin: LayerOrigin::Flags,
        });
        config::resolve(&layers)
    }
}

/// Parses the process arguments, runs the subcommand, returns the exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let flags = match &cli.command {
        Command::Serve(flags) | Command::Config(flags) => flags,
        Command::Import(args) => &args.config,
        Command::Dlq(args) => &args.config,
        Command::Cache(args) => &args.config,
        Command::Gen(args) => return report(crate::commands::generate(args)),
    };
    let config = match flags.resolve(std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rhiz: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config(_) = cli.command {
        print!("{}", config.to_masked_toml());
        return ExitCode::SUCCESS;
    }
    crate::telemetry::init(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rhiz: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Serve(_) => crate::serve(config).await,
            Command::Import(args) => crate::commands::import(args, config).await,
            Command::Dlq(args) => crate::commands::dead_letters(args, &config).await,
            Command::Cache(args) => crate::commands::cache(args, &config).await,
            Command::Config(_) | Command::Gen(_) => Ok(()),
        }
    });
    report(result)
}

/// The exit code of a command's result, printing its error.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("rhiz: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--batch 0` is refused when parsing, naming the flag, instead of
    /// running one event per submission.
    #[test]
    fn an_import_batch_of_zero_is_refused() {
        let error = Cli::try_parse_from(["rhiz", "import", "events.ndjson", "--batch", "0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--batch"), "{error}");
        let parsed = Cli::try_parse_from(["rhiz", "import", "events.ndjson", "--batch", "7"]);
        let Ok(Cli {
            command: Command::Import(args),
        }) = parsed
        else {
            panic!("{parsed:?}");
        };
        assert_eq!(args.batch.map(usize::from), Some(7));
    }
}
