//! The service configuration: one struct, four layers.
//!
//! Values are resolved in this order, each layer overriding the one before:
//! built-in defaults < the TOML file (`--config FILE`, or `./rhiz.toml` when
//! it exists) < `RHIZ_*` environment variables < command-line flags.
//!
//! Every layer produces a [`ConfigLayer`] of optional raw values; merging
//! them and validating the result yields a [`Config`]. Any invalid value
//! stops start-up with a [`ConfigError`] naming the key, where it came from
//! and the rule it broke.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "rhiz.toml";

/// Where a configuration value came from, for error messages and `rhiz config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// The named environment variable.
    Env(String),
    /// The named command-line flag.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(name) => write!(f, "environment variable {name}"),
            Source::Flag(name) => write!(f, "flag {name}"),
        }
    }
}

/// A configuration value that is invalid, or a file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key holds a value that breaks its rule.
    #[error("configuration key `{key}` (from {origin}): {rule}")]
    Invalid {
        /// The configuration key, as written in `rhiz.toml`.
        key: &'static str,
        /// Where the value came from.
        origin: Source,
        /// The rule the value broke.
        rule: String,
    },
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {error}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The configuration file is not valid TOML, or has an unknown key.
    #[error("configuration file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the offending key.
        message: String,
    },
}

/// Where accepted events wait to be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventLogKind {
    /// The dedicated embedded log: an append-only file in `events/` in the
    /// data directory, synced by every group commit. A data directory that
    /// has only an `events.db` (from an older rhiz) keeps using it.
    Embedded,
    /// `events.db` in the data directory (SQLite, `synchronous=FULL`): keeps
    /// applied ids on disk rather than in memory (see the README).
    Sqlite,
    /// A Redis stream at `redis_url`, shared by several instances; the
    /// holder of the apply lease applies.
    Redis,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The deployment environment reported by `GET /`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// A developer's machine.
    Development,
    /// A staging deployment.
    Staging,
    /// Production.
    Production,
}

impl Environment {
    /// The lowercase name, as the API reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
}

/// The effective, validated configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory for the embedded database and other local state.
    pub data_dir: PathBuf,
    /// Store URL: `sqlite://…` or `postgres://…`. `None` means the SQLite
    /// file `rhiz.db` in `data_dir`.
    pub database_url: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Origins allowed by CORS; empty means no CORS headers are sent.
    pub cors_origins: Vec<String>,
    /// Deployment environment.
    pub environment: Environment,
    /// Log filter in `tracing` `EnvFilter` syntax, e.g. `info,rhiz=debug`.
    pub log_level: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    pub shutdown_grace_seconds: u64,
    /// Whether `GET /entities/by-handle/{handle}` resolves handles it does
    /// not know through DNS and HTTPS.
    pub handle_resolution: bool,
    /// Name servers for handle resolution (`ip:port`, UDP); empty means the
    /// system's.
    pub dns_servers: Vec<SocketAddr>,
    /// Secrets accepted in `X-Internal-Key` by the `/internal` routes. Several
    /// may be valid at once, so keys can be rotated; none means ingestion
    /// over HTTP is closed (403).
    pub internal_api_key: Vec<String>,
    /// Secrets accepted in `X-Admin-Key` by the operator routes
    /// (`/api/v1/cache/*`). Several may be valid at once, for rotation; none
    /// means the operator API is closed (403).
    pub admin_api_key: Vec<String>,
    /// Events accepted and not yet applied, all lanes; new events are
    /// refused (503) above 80 % of it.
    pub event_queue_capacity: usize,
    /// Events accepted and not yet applied in one priority lane.
    pub event_lane_capacity: usize,
    /// Events applied concurrently (different records only).
    pub event_workers: usize,
    /// Attempts before a failing event goes to the dead letters.
    pub event_max_attempts: u32,
    /// Backoff ceiling after the first failed attempt, in milliseconds; it
    /// doubles with each further failure (full jitter).
    pub event_retry_base_ms: u64,
    /// How long the event log remembers an applied event, in seconds, so a
    /// repeat of its id is a duplicate. The logs keep the ids that long (the
    /// embedded log in memory, 16-byte digests; SQLite and Redis on their
    /// storage): their size grows with this times the ingest rate.
    pub event_idempotency_retention_s: u64,
    /// Most events in one `POST /internal/events/batch`.
    pub ingest_batch_max: usize,
    /// Most events of different records a worker applies together; their
    /// store writes share one transaction.
    pub event_apply_batch: usize,
    /// Where accepted events wait to be applied.
    pub event_log: EventLogKind,
    /// Redis URL (`redis://…`): the event log with `event_log = "redis"`.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key rhiz writes; instances that share a log
    /// share the prefix.
    pub redis_prefix: String,
    /// The DIDs the trust metrics' reputation propagates from (trusted by
    /// the operator). Empty, or none of them in the graph: the best-connected
    /// DIDs are used instead, which is not Sybil-resistant, and responses
    /// say `seedSource: fallback`.
    pub trust_seeds: Vec<rhiz_protocol::Did>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            max_body_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            environment: Environment::Development,
            log_level: "info".to_owned(),
            log_format: LogFormat::Text,
            shutdown_grace_seconds: 30,
            handle_resolution: true,
            dns_servers: Vec::new(),
            internal_api_key: Vec::new(),
            admin_api_key: Vec::new(),
            event_queue_capacity: 10_000,
            event_lane_capacity: 2_500,
            event_workers: std::thread::available_parallelism().map_or(1, usize::from),
            event_max_attempts: 3,
            event_retry_base_ms: 2_000,
            event_idempotency_retention_s: 24 * 3600,
            ingest_batch_max: 1_000,
            event_apply_batch: 4_096,
            event_log: EventLogKind::Embedded,
            redis_url: None,
            redis_prefix: "rhiz".to_owned(),
            trust_seeds: Vec::new(),
        }
    }
}

impl Config {
    /// The store URL to open: `database_url`, or the SQLite file in `data_dir`.
    pub fn store_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => rhiz_store::sqlite_url_for_data_dir(&self.data_dir),
        }
    }

    /// How long the event log remembers applied events
    /// ([`Config::event_idempotency_retention_s`]).
    pub fn idempotency_retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.event_idempotency_retention_s)
    }

    /// The event pipeline's settings.
    pub fn pipeline_config(&self) -> rhiz_events::PipelineConfig {
        rhiz_events::PipelineConfig {
            workers: self.event_workers,
            capacity: self.event_queue_capacity,
            lane_capacity: self.event_lane_capacity.min(self.event_queue_capacity),
            max_attempts: self.event_max_attempts,
            backoff_base: std::time::Duration::from_millis(self.event_retry_base_ms),
            backoff_max: std::time::Duration::from_millis(self.event_retry_base_ms.max(60_000)),
            apply_batch_max: self.event_apply_batch,
            ..rhiz_events::PipelineConfig::default()
        }
    }

    /// The configuration as TOML, with secrets masked, for `rhiz config`.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = Some(rhiz_store::mask_password(&self.store_url()));
        shown.redis_url = self.redis_url.as_deref().map(rhiz_store::mask_password);
        shown.internal_api_key = vec!["****".to_owned(); self.internal_api_key.len()];
        shown.admin_api_key = vec!["****".to_owned(); self.admin_api_key.len()];
        toml::to_string(&shown).unwrap_or_else(|error| format!("# cannot render: {error}\n"))
    }
}

/// One layer of raw, not yet validated values. Keys match `rhiz.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// See [`Config::listen`].
    pub listen: Option<String>,
    /// See [`Config::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Config::database_url`].
    pub database_url: Option<String>,
    /// See [`Config::max_body_bytes`].
    pub max_body_bytes: Option<u64>,
    /// See [`Config::cors_origins`].
    pub cors_origins: Option<Vec<String>>,
    /// See [`Config::environment`].
    pub environment: Option<String>,
    /// See [`Config::log_level`].
    pub log_level: Option<String>,
    /// See [`Config::log_format`].
    pub log_format: Option<String>,
    /// See [`Config::shutdown_grace_seconds`].
    pub shutdown_grace_seconds: Option<u64>,
    /// See [`Config::handle_resolution`].
    pub handle_resolution: Option<bool>,
    /// See [`Config::dns_servers`].
    pub dns_servers: Option<Vec<String>>,
    /// See [`Config::internal_api_key`].
    pub internal_api_key: Option<Vec<String>>,
    /// See [`Config::admin_api_key`].
    pub admin_api_key: Option<Vec<String>>,
    /// See [`Config::event_queue_capacity`].
    pub event_queue_capacity: Option<u64>,
    /// See [`Config::event_lane_capacity`].
    pub event_lane_capacity: Option<u64>,
    /// See [`Config::event_workers`].
    pub event_workers: Option<u64>,
    /// See [`Config::event_max_attempts`].
    pub event_max_attempts: Option<u64>,
    /// See [`Config::event_retry_base_ms`].
    pub event_retry_base_ms: Option<u64>,
    /// See [`Config::event_idempotency_retention_s`].
    pub event_idempotency_retention_s: Option<u64>,
    /// See [`Config::ingest_batch_max`].
    pub ingest_batch_max: Option<u64>,
    /// See [`Config::event_apply_batch`].
    pub event_apply_batch: Option<u64>,
    /// See [`Config::event_log`].
    pub event_log: Option<String>,
    /// See [`Config::redis_url`].
    pub redis_url: Option<String>,
    /// See [`Config::redis_prefix`].
    pub redis_prefix: Option<String>,
    /// See [`Config::trust_seeds`].
    pub trust_seeds: Option<Vec<String>>,
}

impl ConfigLayer {
    /// Reads a TOML file. Unknown keys are an error naming the key.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Unreadable {
            path: path.to_owned(),
            error,
        })?;
        toml::from_str(&text).map_err(|error| ConfigError::File {
            path: path.to_owned(),
            message: describe_toml_error(&text, &error),
        })
    }

    /// Reads the `RHIZ_*` variables from `vars` (pass `std::env::vars()`).
    ///
    /// Unknown `RHIZ_*` variables are ignored: other tools (and the test
    /// harness) use the prefix too.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with("RHIZ_"))
            .collect();
        let text = |key: &str| vars.get(&env_name(key)).cloned();
        let number = |key: &'static str| -> Result<Option<u64>, ConfigError> {
            text(key)
                .map(|value| {
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| ConfigError::Invalid {
                            key,
                            origin: Source::Env(env_name(key)),
                            rule: format!("must be a non-negative whole number, got {value:?}"),
                        })
                })
                .transpose()
        };
        let boolean = |key: &'static str| -> Result<Option<bool>, ConfigError> {
            text(key)
                .map(|value| match value.trim() {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(ConfigError::Invalid {
                        key,
                        origin: Source::Env(env_name(key)),
                        rule: format!("must be true or false, got {value:?}"),
                    }),
                })
                .transpose()
        };
        let list = |key: &str| {
            text(key).map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
        };
        Ok(ConfigLayer {
            listen: text("listen"),
            data_dir: text("data_dir").map(PathBuf::from),
            database_url: text("database_url"),
            max_body_bytes: number("max_body_bytes")?,
            cors_origins: list("cors_origins"),
            environment: text("environment"),
            log_level: text("log_level"),
            log_format: text("log_format"),
            shutdown_grace_seconds: number("shutdown_grace_seconds")?,
            handle_resolution: boolean("handle_resolution")?,
            dns_servers: list("dns_servers"),
            internal_api_key: list("internal_api_key"),
            admin_api_key: list("admin_api_key"),
            event_queue_capacity: number("event_queue_capacity")?,
            event_lane_capacity: number("event_lane_capacity")?,
            event_workers: number("event_workers")?,
            event_max_attempts: number("event_max_attempts")?,
            event_retry_base_ms: number("event_retry_base_ms")?,
            event_idempotency_retention_s: number("event_idempotency_retention_s")?,
            ingest_batch_max: number("ingest_batch_max")?,
            event_apply_batch: number("event_apply_batch")?,
            event_log: text("event_log"),
            redis_url: text("redis_url"),
            redis_prefix: text("redis_prefix"),
            trust_seeds: list("trust_seeds"),
        })
    }
}

/// The TOML error with the line and the key it is about, e.g.
/// ``line 2, key `max_body_bytes`: invalid type: string "big", expected u64``.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return error.message().to_owned();
    };
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_number = text[..span.start].matches('\n').count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => format!(
            "line {line_number}, key `{}`: {}",
            key.trim(),
            error.message()
        ),
        _ => format!("line {line_number}: {}", error.message()),
    }
}

/// The environment variable for a configuration key: `RHIZ_` + uppercase key.
pub fn env_name(key: &str) -> String {
    format!("RHIZ_{}", key.to_ascii_uppercase())
}

/// A layer together with where its values came from.
#[derive(Debug, Clone)]
pub struct SourcedLayer {
    /// The values.
    pub layer: ConfigLayer,
    /// Where they came from; flags name themselves per key.
    pub origin: LayerOrigin,
}

/// The kind of layer, to name sources in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerOrigin {
    /// A TOML file.
    File(PathBuf),
    /// `RHIZ_*` environment variables.
    Env,
    /// Command-line flags.
    Flags,
}

impl LayerOrigin {
    fn source_for(&self, key: &str) -> Source {
        match self {
            LayerOrigin::File(path) => Source::File(path.clone()),
            LayerOrigin::Env => Source::Env(env_name(key)),
            LayerOrigin::Flags => Source::Flag(format!("--{}", key.replace('_', "-"))),
        }
    }
}

/// Merges layers (later wins) over the defaults and validates the result.
pub fn resolve(layers: &[SourcedLayer]) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    for SourcedLayer { layer, origin } in layers {
        let invalid = |key: &'static str, rule: String| ConfigError::Invalid {
            key,
            origin: origin.source_for(key),
            rule,
        };
        if let Some(listen) = &layer.listen {
            config.listen = listen.trim().parse().map_err(|_| {
                invalid(
                    "listen",
                    format!("must be a socket address like 127.0.0.1:8080, got {listen:?}"),
                )
            })?;
        }
        if let Some(dir) = &layer.data_dir {
            if dir.as_os_str().is_empty() {
                return Err(invalid("data_dir", "must not be empty".to_owned()));
            }
            config.data_dir = dir.clone();
        }
        if let Some(url) = &layer.database_url {
            let url = url.trim();
            config.database_url = match url {
                "" => None,
                _ if is_supported_database_url(url) => Some(url.to_owned()),
                _ => {
                    return Err(invalid(
                        "database_url",
                        format!(
                            "must start with sqlite://, postgres:// or postgresql://, got {:?}",
                            rhiz_store::mask_password(url)
                        ),
                    ))
                }
            };
        }
        if let Some(bytes) = layer.max_body_bytes {
            config.max_body_bytes = match usize::try_from(bytes) {
                Ok(bytes) if (1024..=1024 * 1024 * 1024).contains(&bytes) => bytes,
                _ => {
                    return Err(invalid(
                        "max_body_bytes",
                        format!("must be from 1024 to 1073741824, got {bytes}"),
                    ))
                }
            };
        }
        if let Some(origins) = &layer.cors_origins {
            if let Some(bad) = origins.iter().find(|o| !is_origin(o)) {
                return Err(invalid(
                    "cors_origins",
                    format!("each origin must be \"*\" or scheme://host[:port], got {bad:?}"),
                ));
            }
            config.cors_origins = origins.clone();
        }
        if let Some(environment) = &layer.environment {
            config.environment = match environment.trim() {
                "development" => Environment::Development,
                "staging" => Environment::Staging,
                "production" => Environment::Production,
                other => {
                    return Err(invalid(
                        "environment",
                        format!("must be development, staging or production, got {other:?}"),
                    ))
                }
            };
        }
        if let Some(level) = &layer.log_level {
            tracing_subscriber::EnvFilter::try_new(level).map_err(|error| {
                invalid("log_level", format!("not a valid log filter: {error}"))
            })?;
            config.log_level = level.clone();
        }
        if let Some(format) = &layer.log_format {
            config.log_format = match format.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(invalid(
                        "log_format",
                        format!("must be text or json, got {other:?}"),
                    ))
                }
            };
        }
        if let Some(seconds) = layer.shutdown_grace_seconds {
            if seconds > 3600 {
                return Err(invalid(
                    "shutdown_grace_seconds",
                    format!("must be at most 3600, got {seconds}"),
                ));
            }
            config.shutdown_grace_seconds = seconds;
        }
        if let Some(enabled) = layer.handle_resolution {
            config.handle_resolution = enabled;
        }
        if let Some(servers) = &layer.dns_servers {
            config.dns_servers = servers
                .iter()
                .map(|server| {
                    server.trim().parse().map_err(|_| {
                        invalid(
                            "dns_servers",
                            format!("each server must be ip:port like 1.1.1.1:53, got {server:?}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        let secrets = |key: &'static str, keys: &Vec<String>| match keys
            .iter()
            .position(|secret| !is_acceptable_secret(secret))
        {
            Some(i) => Err(invalid(
                key,
                format!(
                    "key {} must be 16 to 256 printable ASCII characters without spaces",
                    i + 1
                ),
            )),
            None => Ok(keys.clone()),
        };
        if let Some(keys) = &layer.internal_api_key {
            config.internal_api_key = secrets("internal_api_key", keys)?;
        }
        if let Some(keys) = &layer.admin_api_key {
            config.admin_api_key = secrets("admin_api_key", keys)?;
        }
        let bounded = |key: &'static str, value: Option<u64>, min: u64, max: u64| {
            value
                .map(|v| {
                    if (min..=max).contains(&v) {
                        Ok(v)
                    } else {
                        Err(invalid(
                            key,
                            format!("must be from {min} to {max}, got {v}"),
                        ))
                    }
                })
                .transpose()
        };
        let as_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(v) = bounded(
            "event_queue_capacity",
            layer.event_queue_capacity,
            10,
            10_000_000,
        )? {
            config.event_queue_capacity = as_usize(v);
        }
        if let Some(v) = bounded(
            "event_lane_capacity",
            layer.event_lane_capacity,
            1,
            10_000_000,
        )? {
            config.event_lane_capacity = as_usize(v);
        }
        if let Some(v) = bounded("event_workers", layer.event_workers, 1, 1_024)? {
            config.event_workers = as_usize(v);
        }
        if let Some(v) = bounded("event_max_attempts", layer.event_max_attempts, 1, 100)? {
            config.event_max_attempts = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = bounded("event_retry_base_ms", layer.event_retry_base_ms, 1, 600_000)? {
            config.event_retry_base_ms = v;
        }
        if let Some(v) = bounded(
            "event_idempotency_retention_s",
            layer.event_idempotency_retention_s,
            60,
            30 * 24 * 3600,
        )? {
            config.event_idempotency_retention_s = v;
        }
        if let Some(v) = bounded("ingest_batch_max", layer.ingest_batch_max, 1, 100_000)? {
            config.ingest_batch_max = as_usize(v);
        }
        if let Some(v) = bounded("event_apply_batch", layer.event_apply_batch, 1, 4_096)? {
            config.event_apply_batch = as_usize(v);
        }
        if let Some(seeds) = &layer.trust_seeds {
            config.trust_seeds = seeds
                .iter()
                .map(|seed| {
                    seed.trim().parse().map_err(|error| {
                        invalid("trust_seeds", format!("each seed must be a DID: {error}"))
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(kind) = &layer.event_log {
            config.event_log = match kind.trim() {
                "embedded" => EventLogKind::Embedded,
                "sqlite" => EventLogKind::Sqlite,
                "redis" => EventLogKind::Redis,
                other => {
                    return Err(invalid(
                        "event_log",
                        format!("must be embedded, sqlite or redis, got {other:?}"),
                    ))
                }
            };
        }
        if let Some(url) = &layer.redis_url {
            let url = url.trim();
            config.redis_url = match url {
                "" => None,
                _ if url.starts_with("redis://") || url.starts_with("rediss://") => {
                    Some(url.to_owned())
                }
                _ => {
                    return Err(invalid(
                        "redis_url",
                        format!(
                            "must start with redis:// or rediss://, got {:?}",
                            rhiz_store::mask_password(url)
                        ),
                    ))
                }
            };
        }
        if let Some(prefix) = &layer.redis_prefix {
            if prefix.is_empty()
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
            {
                return Err(invalid(
                    "redis_prefix",
                    format!("must be printable ASCII without spaces or braces, got {prefix:?}"),
                ));
            }
            config.redis_prefix = prefix.clone();
        }
    }
    if config.event_log == EventLogKind::Redis && config.redis_url.is_none() {
        return Err(ConfigError::Invalid {
            key: "redis_url",
            origin: Source::Default,
            rule: "is required when event_log is redis".to_owned(),
        });
    }
    Ok(config)
}

/// A secret long enough to resist guessing and safe in an HTTP header.
fn is_acceptable_secret(key: &str) -> bool {
    (16..=256).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

fn is_supported_database_url(url: &str) -> bool {
    ["sqlite://", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len())
}

fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    match origin.split_once("://") {
        Some((scheme, host)) => {
            matches!(scheme, "http" | "https")
                && !host.is_empty()
                && !host.contains('/')
                && axum::http::HeaderValue::from_str(origin).is_ok()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> ConfigLayer {
        ConfigLayer::from_env(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .unwrap()
    }

    fn layer(layer: ConfigLayer, origin: LayerOrigin) -> SourcedLayer {
        SourcedLayer { layer, origin }
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let config = resolve(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.max_body_bytes, 1_048_576);
        assert_eq!(config.store_url(), "sqlite://./data/rhiz.db");
    }

    #[test]
    fn later_layers_override_earlier_ones() {
        let file: ConfigLayer = toml::from_str(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/from/file\"\nlog_format = \"json\"",
        )
        .unwrap();
        let from_env = env(&[
            ("RHIZ_LISTEN", "127.0.0.1:2"),
            ("RHIZ_DATA_DIR", "/from/env"),
        ]);
        let flags = ConfigLayer {
            listen: Some("127.0.0.1:3".to_owned()),
            ..ConfigLayer::default()
        };
        let config = resolve(&[
            layer(file, LayerOrigin::File("rhiz.toml".into())),
            layer(from_env, LayerOrigin::Env),
            layer(flags, LayerOrigin::Flags),
        ])
        .unwrap();
        assert_eq!(config.listen.port(), 3);
        assert_eq!(config.data_dir, PathBuf::from("/from/env"));
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn idempotency_retention_is_read_in_seconds() {
        assert_eq!(
            resolve(&[]).unwrap().idempotency_retention(),
            std::time::Duration::from_secs(86_400)
        );
        let from_env = env(&[("RHIZ_EVENT_IDEMPOTENCY_RETENTION_S", "3600")]);
        let config = resolve(&[layer(from_env, LayerOrigin::Env)]).unwrap();
        assert_eq!(
            config.idempotency_retention(),
            std::time::Duration::from_secs(3600)
        );
    }

    #[test]
    fn a_redis_event_log_needs_a_redis_url() {
        let error = resolve(&[layer(env(&[("RHIZ_EVENT_LOG", "redis")]), LayerOrigin::Env)])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`redis_url`") && error.contains("event_log is redis"),
            "{error}"
        );
        let config = resolve(&[layer(
            env(&[
                ("RHIZ_EVENT_LOG", "redis"),
                ("RHIZ_REDIS_URL", "redis://:secret@127.0.0.1:6379/"),
            ]),
            LayerOrigin::Env,
        )])
        .unwrap();
        assert_eq!(config.event_log, EventLogKind::Redis);
        assert!(!config.to_masked_toml().contains("secret"));
    }

    #[test]
    fn the_embedded_logs_are_named_embedded_and_sqlite() {
        for (name, kind) in [
            ("embedded", EventLogKind::Embedded),
            ("sqlite", EventLogKind::Sqlite),
        ] {
            let config =
                resolve(&[layer(env(&[("RHIZ_EVENT_LOG", name)]), LayerOrigin::Env)]).unwrap();
            assert_eq!(config.event_log, kind);
        }
        let error = resolve(&[layer(env(&[("RHIZ_EVENT_LOG", "file")]), LayerOrigin::Env)])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("must be embedded, sqlite or redis"),
            "{error}"
        );
    }

    #[test]
    fn invalid_values_name_the_key_and_the_source() {
        let cases: &[(&str, &str, &str)] = &[
            ("RHIZ_LISTEN", "localhost", "listen"),
            ("RHIZ_DATABASE_URL", "mysql://x", "database_url"),
            ("RHIZ_MAX_BODY_BYTES", "10", "max_body_bytes"),
            ("RHIZ_ENVIRONMENT", "prod", "environment"),
            ("RHIZ_LOG_FORMAT", "xml", "log_format"),
            ("RHIZ_CORS_ORIGINS", "not an origin", "cors_origins"),
            (
                "RHIZ_SHUTDOWN_GRACE_SECONDS",
                "7200",
                "shutdown_grace_seconds",
            ),
            ("RHIZ_LOG_LEVEL", "info,[", "log_level"),
            ("RHIZ_DNS_SERVERS", "1.1.1.1", "dns_servers"),
            ("RHIZ_TRUST_SEEDS", "did:plc:a,alice", "trust_seeds"),
            ("RHIZ_INTERNAL_API_KEY", "short", "internal_api_key"),
            (
                "RHIZ_ADMIN_API_KEY",
                "has spaces in it, long",
                "admin_api_key",
            ),
            ("RHIZ_EVENT_QUEUE_CAPACITY", "0", "event_queue_capacity"),
            ("RHIZ_EVENT_WORKERS", "0", "event_workers"),
            ("RHIZ_EVENT_MAX_ATTEMPTS", "1000", "event_max_attempts"),
            (
                "RHIZ_EVENT_IDEMPOTENCY_RETENTION_S",
                "10",
                "event_idempotency_retention_s",
            ),
            ("RHIZ_INGEST_BATCH_MAX", "0", "ingest_batch_max"),
            ("RHIZ_EVENT_LOG", "kafka", "event_log"),
            ("RHIZ_REDIS_URL", "http://redis", "redis_url"),
            ("RHIZ_REDIS_PREFIX", "a b", "redis_prefix"),
        ];
        for (var, value, key) in cases {
            let error = resolve(&[layer(env(&[(var, value)]), LayerOrigin::Env)]).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(&format!("`{key}`")), "{var}: {message}");
            assert!(message.contains(var), "{var}: {message}");
        }
    }

    #[test]
    fn a_non_numeric_environment_number_is_rejected_by_name() {
        let error = ConfigLayer::from_env([("RHIZ_MAX_BODY_BYTES".to_owned(), "lots".to_owned())])
            .unwrap_err();
        assert!(error.to_string().contains("RHIZ_MAX_BODY_BYTES"), "{error}");
    }

    #[test]
    fn booleans_and_lists_from_the_environment() {
        let layer = env(&[
            ("RHIZ_HANDLE_RESOLUTION", "false"),
            ("RHIZ_DNS_SERVERS", "127.0.0.1:53, [::1]:5353"),
        ]);
        let config = resolve(&[SourcedLayer {
            layer,
            origin: LayerOrigin::Env,
        }])
        .unwrap();
        assert!(!config.handle_resolution);
        assert_eq!(config.dns_servers.len(), 2);
        let layer = env(&[("RHIZ_TRUST_SEEDS", "did:plc:alice, did:web:example.com")]);
        let config = resolve(&[SourcedLayer {
            layer,
            origin: LayerOrigin::Env,
        }])
        .unwrap();
        assert_eq!(config.trust_seeds[1].as_str(), "did:web:example.com");
        let error =
            ConfigLayer::from_env([("RHIZ_HANDLE_RESOLUTION".to_owned(), "maybe".to_owned())])
                .unwrap_err();
        assert!(
            error.to_string().contains("RHIZ_HANDLE_RESOLUTION"),
            "{error}"
        );
    }

    #[test]
    fn flag_errors_name_the_flag() {
        let flags = ConfigLayer {
            listen: Some("nowhere".to_owned()),
            ..ConfigLayer::default()
        };
        let error = resolve(&[layer(flags, LayerOrigin::Flags)]).unwrap_err();
        assert!(error.to_string().contains("flag --listen"), "{error}");
    }

    #[test]
    fn unknown_file_keys_are_rejected_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rhiz.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9\"\nlisten_port = 9\n").unwrap();
        let error = ConfigLayer::from_file(&path).unwrap_err();
        assert!(error.to_string().contains("key `listen_port`"), "{error}");
        std::fs::write(&path, "# sizes\nmax_body_bytes = \"big\"\n").unwrap();
        let error = ConfigLayer::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("line 2, key `max_body_bytes`"), "{error}");
    }

    #[test]
    fn passwords_are_masked() {
        let config = Config {
            database_url: Some("postgres://rhiz:s3cret@db/rhiz".to_owned()),
            ..Config::default()
        };
        let config = Config {
            admin_api_key: vec!["admin-s3cret-0123456789".to_owned()],
            ..config
        };
        let shown = config.to_masked_toml();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("rhiz:***@db"), "{shown}");
    }
}
