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
    let (Command::Serve(flags) | Command::Config(flags)) = &cli.command;
    let config = match flags.resolve(std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rhiz: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Config(_) => {
            print!("{}", config.to_masked_toml());
            ExitCode::SUCCESS
        }
        Command::Serve(_) => {
            crate::telemetry::init(&config);
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("rhiz: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(crate::serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("{error:#}");
                    eprintln!("rhiz: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
