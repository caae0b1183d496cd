//! The change feed: a monotonically numbered stream of what each applied
//! event changed, for the consumers downstream of apply (cache invalidation,
//! WebSocket subscribers, other replicas).
//!
//! Numbers start at 1 and increase by one per change, in apply order. The
//! feed is in memory and bounded: a subscriber that falls more than
//! [`FEED_BUFFER`] changes behind is told how many it missed
//! ([`tokio::sync::broadcast::error::RecvError::Lagged`]) and must
//! resynchronise from the store.
//!
//! ```
//! use rhiz_server::change_feed::{Change, ChangeFeed};
//! use rhiz_protocol::EventKind;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let feed = ChangeFeed::new();
//! let mut changes = feed.subscribe();
//! let seq = feed.publish(Change {
//!     seq: 0,
//!     event_id: "e-1".into(),
//!     kind: EventKind::TrustInvalidated,
//!     uri: None,
//!     dids: vec!["did:plc:alice".parse().unwrap()],
//! });
//! assert_eq!(seq, 1);
//! assert_eq!(changes.recv().await.unwrap().seq, 1);
//! # }
//! ```

use std::sync::{Arc, Mutex};

use rhiz_protocol::{AtUri, Did, EventKind};
use tokio::sync::broadcast;

/// Changes kept for slow subscribers before they are told they lagged.
pub const FEED_BUFFER: usize = 16_384;

/// What one applied event changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the feed, set by [`ChangeFeed::publish`].
    pub seq: u64,
    /// The event that made the change.
    pub event_id: String,
    /// What the event did.
    pub kind: EventKind,
    /// The record changed; `None` for `trust.invalidated`.
    pub uri: Option<AtUri>,
    /// The DIDs whose answers may have changed: the participants of a
    /// relationship (before and after an update), the attester and the
    /// participants of an attested relationship, a profile's owner, the DID
    /// whose trust was invalidated.
    pub dids: Vec<Did>,
}

/// The feed; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct ChangeFeed {
    /// The last number given out; held while sending so numbers reach
    /// subscribers in order.
    last: Mutex<u64>,
    sender: broadcast::Sender<Arc<Change>>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeFeed {
    /// An empty feed; the first change gets number 1.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(FEED_BUFFER);
        Self {
            last: Mutex::new(0),
            sender,
        }
    }

    /// Numbers `change` (its `seq` is overwritten), sends it to every
    /// subscriber and returns its number.
    pub fn publish(&self, mut change: Change) -> u64 {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *last += 1;
        change.seq = *last;
        // No subscriber is not an error: the change is simply not observed.
        let _ = self.sender.send(Arc::new(change));
        *last
    }

    /// Receives every change published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.sender.subscribe()
    }

    /// The number of the last change published (0 before the first).
    pub fn last_seq(&self) -> u64 {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}
