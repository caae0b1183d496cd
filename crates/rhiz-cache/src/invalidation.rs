//! What an invalidation is, how it travels between instances, and the task
//! that receives them.

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use redis::Client;

use crate::cache::Inner;

/// What to invalidate.
///
/// Keys and patterns address the full key `class:key` (see
/// [`KeyClass`](crate::KeyClass)); patterns are Redis globs (`*`, `?`,
/// `[set]`, `\` escapes) matched identically on both tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation {
    /// One full key, `class:key`.
    Key(String),
    /// Every value carrying this tag, lazily and in O(1).
    Tag(String),
    /// Every value carrying any of these tags: what many `Tag`s do, in one
    /// message and one L2 round trip (the apply step invalidates a whole
    /// batch of changes this way).
    Tags(Vec<String>),
    /// Every key matching this glob: an operator's tool, O(keys) on both tiers.
    Pattern(String),
}

impl Invalidation {
    /// The key `key` of class `class`.
    pub fn key(class: &str, key: &str) -> Self {
        Invalidation::Key(format!("{class}:{key}"))
    }
}

/// How far an invalidation reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Delivery {
    /// No L2 is configured: this process was all there was to invalidate.
    Local,
    /// Applied locally, in L2, and published to the other instances.
    Everywhere,
    /// Applied locally; L2 is unreachable, so the L2 part is queued and
    /// replayed before this instance reads L2 again.
    Deferred,
}

/// An invalidation as published on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) instance: String,
    /// When it was issued, µs since the epoch.
    pub(crate) at: u64,
    pub(crate) what: Invalidation,
}

const SEPARATOR: char = '\u{1f}';

impl Message {
    /// `instance␟kind␟at␟value`, with kind one of `k`, `t`, `T`, `p`; the
    /// value of `T` is each tag as `length:tag`.
    pub(crate) fn encode(&self) -> String {
        let tags;
        let (kind, value) = match &self.what {
            Invalidation::Key(v) => ('k', v),
            Invalidation::Tag(v) => ('t', v),
            Invalidation::Tags(list) => {
                tags = list
                    .iter()
                    .map(|tag| format!("{}:{tag}", tag.len()))
                    .collect();
                ('T', &tags)
            }
            Invalidation::Pattern(v) => ('p', v),
        };
        let s = SEPARATOR;
        format!("{}{s}{kind}{s}{}{s}{value}", self.instance, self.at)
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(4, SEPARATOR);
        let instance = parts.next()?.to_owned();
        let kind = parts.next()?;
        let at = parts.next()?.parse().ok()?;
        let value = parts.next()?.to_owned();
        let what = match kind {
            "k" => Invalidation::Key(value),
            "t" => Invalidation::Tag(value),
            "T" => Invalidation::Tags(decode_tags(&value)?),
            "p" => Invalidation::Pattern(value),
            _ => return None,
        };
        Some(Message { instance, at, what })
    }
}

/// The tags of a `T` message: `length:tag` after `length:tag`.
fn decode_tags(mut text: &str) -> Option<Vec<String>> {
    let mut tags = Vec::new();
    while !text.is_empty() {
        let (length, rest) = text.split_once(':')?;
        let length: usize = length.parse().ok()?;
        let tag = rest.get(..length)?;
        tags.push(tag.to_owned());
        text = &rest[length..];
    }
    Some(tags)
}

/// Follows the invalidation channel until the cache is dropped, reconnecting
/// with backoff. Every (re)subscription starts a new horizon: L1 is cleared
/// because invalidations may have been missed while disconnected.
pub(crate) async fn follow_channel(cache: Weak<Inner>, client: Client, channel: String) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match subscribe(&client, &channel).await {
            Ok(mut pubsub) => {
                let Some(inner) = cache.upgrade() else { return };
                inner.resubscribed();
                drop(inner);
                backoff = Duration::from_millis(50);
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Some(inner) = cache.upgrade() else { return };
                    match msg
                        .get_payload::<String>()
                        .ok()
                        .as_deref()
                        .and_then(Message::decode)
                    {
                        Some(message) => inner.receive(message),
                        None => tracing::warn!(channel, "ignoring malformed invalidation"),
                    }
                }
                tracing::warn!(channel, "invalidation channel lost; reconnecting");
            }
            Err(error) => tracing::debug!(%error, channel, "cannot subscribe to invalidations"),
        }
        if cache.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

async fn subscribe(client: &Client, channel: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub)
    };
    tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .unwrap_or_else(|_| Err((redis::ErrorKind::Io, "subscribe timed out").into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_rejected() {
        for what in [
            Invalidation::Key("trust:did:plc:a".into()),
            Invalidation::Tag("did:plc:a\u{1f}odd".into()),
            Invalidation::Tags(vec!["did:plc:a".into(), "12:x".into(), "é\u{1f}:".into()]),
            Invalidation::Tags(Vec::new()),
            Invalidation::Pattern("paths:*".into()),
        ] {
            let m = Message {
                instance: "i-1".into(),
                at: 42,
                what,
            };
            assert_eq!(Message::decode(&m.encode()), Some(m));
        }
        assert_eq!(Message::decode("i\u{1f}x\u{1f}1\u{1f}v"), None);
        assert_eq!(Message::decode("garbage"), None);
        assert_eq!(Message::decode("i\u{1f}T\u{1f}1\u{1f}5:abc"), None);
        assert_eq!(Message::decode("i\u{1f}T\u{1f}1\u{1f}1:é"), None);
    }
}
