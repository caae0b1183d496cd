//! AT Protocol handle resolution: handle → DID, cached.
//!
//! A handle resolves through the DNS TXT record `_atproto.<handle>` holding
//! `did=<DID>`, or, when DNS gives no answer, through
//! `https://<handle>/.well-known/atproto-did` holding the DID as text. Both
//! are bounded by a timeout; any failure means "not resolved". Answers, good
//! and bad, are cached for a while so a popular lookup costs nothing and a
//! failing one cannot be used to make rhiz hammer a domain.
//!
//! Handles under the TLDs the AT Protocol reserves (`.invalid`, `.local`,
//! `.arpa`, …) are never looked up.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    NameServerConfig, NameServerConfigGroup, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use rhiz_protocol::{Did, Handle};

/// TLDs that never resolve (AT Protocol handle specification).
const RESERVED_TLDS: &[&str] = &[
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
];
/// Longest well-known document accepted, in bytes.
const MAX_WELL_KNOWN_BYTES: usize = 2048;
/// How long a successful resolution is reused.
const RESOLVED_TTL: Duration = Duration::from_secs(600);
/// How long a failed resolution is reused.
const UNRESOLVED_TTL: Duration = Duration::from_secs(60);
/// Most cached handles; the cache is emptied of expired entries, then
/// entirely, when full.
const MAX_CACHED: usize = 10_000;

/// Resolves handles to DIDs over DNS and HTTPS, with a cache.
#[derive(Debug)]
pub struct HandleResolver {
    dns: TokioResolver,
    https: reqwest::Client,
    cache: Mutex<HashMap<Handle, (Option<Did>, Instant)>>,
}

/// Why a resolver could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up handle resolution: {0}")]
pub struct ResolverSetupError(String);

impl HandleResolver {
    /// A resolver that asks `dns_servers` (UDP), or the system's
    /// configured name servers when the list is empty.
    pub fn new(dns_servers: &[SocketAddr], timeout: Duration) -> Result<Self, ResolverSetupError> {
        let mut builder = if dns_servers.is_empty() {
            TokioResolver::builder_tokio().map_err(|e| ResolverSetupError(e.to_string()))?
        } else {
            let servers: Vec<NameServerConfig> = dns_servers
                .iter()
                .map(|addr| NameServerConfig::new(*addr, Protocol::Udp))
                .collect();
            let config =
                ResolverConfig::from_parts(None, Vec::new(), NameServerConfigGroup::from(servers));
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.timeout = timeout;
        options.attempts = 1;
        options.ndots = 0;
        let https = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .user_agent(concat!("rhiz/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ResolverSetupError(e.to_string()))?;
        Ok(HandleResolver {
            dns: builder.build(),
            https,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The DID `handle` resolves to, or `None` when it does not resolve.
    pub async fn resolve(&self, handle: &Handle) -> Option<Did> {
        let handle = handle.normalized();
        if is_reserved(&handle) {
            return None;
        }
        if let Some(cached) = self.cached(&handle) {
            return cached;
        }
        let did = match self.resolve_dns(&handle).await {
            Some(did) => Some(did),
            None => self.resolve_https(&handle).await,
        };
        self.remember(handle, did.clone());
        did
    }

    fn cached(&self, handle: &Handle) -> Option<Option<Did>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match cache.get(handle) {
            Some((did, expires)) if *expires > Instant::now() => Some(did.clone()),
            _ => None,
        }
    }

    fn remember(&self, handle: Handle, did: Option<Did>) {
        let now = Instant::now();
        let ttl = if did.is_some() {
            RESOLVED_TTL
        } else {
            UNRESOLVED_TTL
        };
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (_, expires)| *expires > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(handle, (did, now + ttl));
    }

    /// `_atproto.<handle>` TXT: exactly one `did=` value that is a valid DID.
    async fn resolve_dns(&self, handle: &Handle) -> Option<Did> {
        let name = format!("_atproto.{handle}.");
        let lookup = match self.dns.txt_lookup(name).await {
            Ok(lookup) => lookup,
            Err(error) => {
                tracing::debug!(%handle, %error, "no DNS answer for handle");
                return None;
            }
        };
        let values: Vec<String> = lookup
            .iter()
            .map(|txt| {
                txt.txt_data()
                    .iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect::<String>()
            })
            .filter_map(|text| text.strip_prefix("did=").map(str::to_owned))
            .collect();
        match values.as_slice() {
            [one] => one.parse().ok(),
            _ => None,
        }
    }

    /// `https://<handle>/.well-known/atproto-did`: the DID as the body.
    async fn resolve_https(&self, handle: &Handle) -> Option<Did> {
        let url = format!("https://{handle}/.well-known/atproto-did");
        let response = match self.https.get(&url).send().await {
            Ok(response) if response.status().is_success() => response,
            Ok(response) => {
                tracing::debug!(%handle, status = %response.status(), "well-known answered an error");
                return None;
            }
            Err(error) => {
                tracing::debug!(%handle, %error, "well-known unreachable");
                return None;
            }
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_WELL_KNOWN_BYTES as u64)
        {
            return None;
        }
        let body = response.bytes().await.ok()?;
        if body.len() > MAX_WELL_KNOWN_BYTES {
            return None;
        }
        std::str::from_utf8(&body).ok()?.trim().parse().ok()
    }
}

fn is_reserved(handle: &Handle) -> bool {
    let tld = handle.as_str().rsplit('.').next().unwrap_or("");
    RESERVED_TLDS.contains(&tld)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_tlds_are_recognised() {
        for handle in ["handle.invalid", "a.local", "x.example", "y.onion"] {
            assert!(is_reserved(&handle.parse().unwrap()), "{handle}");
        }
        for handle in ["alice.bsky.social", "rhiz.test", "example.com"] {
            assert!(!is_reserved(&handle.parse().unwrap()), "{handle}");
        }
    }

    #[tokio::test]
    async fn reserved_handles_resolve_to_nothing_without_a_lookup() {
        let unreachable: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let resolver = HandleResolver::new(&[unreachable], Duration::from_secs(5)).unwrap();
        let started = Instant::now();
        assert_eq!(resolver.resolve(&Handle::invalid()).await, None);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no network round trip"
        );
    }
}
