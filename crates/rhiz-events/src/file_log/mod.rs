//! The dedicated embedded log: one append-only file in a directory of its
//! own, written by one thread with group commit (one frame and one
//! `fdatasync` per group), its state held in memory.
//!
//! Every change is a record appended to the file ([`record`]): an append
//! writes the event with its payload, an acknowledgement only the positions
//! it settles. Nothing is rewritten in place, so an event costs one
//! sequential write and a share of one sync, where the SQLite log updated
//! B-trees five times per event.
//!
//! The file does not grow without end: once it passes
//! [`FileLogOptions::file_bytes`], what is still live (pending events and
//! dead letters with their payloads, the ids of applied events within the
//! retention) is written into a new file, which ends with a checkpoint; once
//! that file is synced the old one is deleted. While more than half the file
//! is payload of live events (a burst not yet applied), the move waits for
//! the file to grow by another quarter of the limit: it would copy most of
//! the file and free little. Reopening reads the newest
//! file with a checkpoint (an unfinished new file is deleted) and drops a
//! torn last frame, which no caller was told was written.
//!
//! The ids of applied events are kept for the retention as 16-byte digests
//! ([`record::digest`]), in memory and in every new file: one hash-map entry
//! of 24 bytes each, 30–60 bytes with the map's spare room, so a day's
//! retention at 100 events/s (8.6 million ids) holds about 420 MB.
//! Services that apply many more events per day keep a shorter retention or
//! use the SQLite log, which keeps them on disk.

mod record;

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use self::record::{digest, Decoder, Encoder, Frame, IdDigest, Identity, Record, Status, MAGIC};
use crate::event::{from_micros, to_micros};
use crate::writer::{
    embedded_event_log, GroupStore, Handle, DEFAULT_IDEMPOTENCY_RETENTION, DEFAULT_MAX_GROUP_COMMIT,
};
use crate::{
    history, AppendOutcome, DeadLetterFilter, EventState, EventsError, FailedAttempt, LogCounts,
    NewEvent, StoredEvent,
};

/// Options of the file log.
#[derive(Debug, Clone)]
pub struct FileLogOptions {
    /// How long the ids of applied events are remembered as duplicates.
    /// Default 24 hours.
    pub idempotency_retention: Duration,
    /// Most commands committed in one group. Default 4,096.
    pub max_group_commit: usize,
    /// Size past which the live state moves to a new file. Default 64 MiB.
    pub file_bytes: u64,
}

impl Default for FileLogOptions {
    fn default() -> Self {
        Self {
            idempotency_retention: DEFAULT_IDEMPOTENCY_RETENTION,
            max_group_commit: DEFAULT_MAX_GROUP_COMMIT,
            file_bytes: 64 << 20,
        }
    }
}

/// The dedicated embedded, durable [`EventLog`](crate::EventLog): an
/// append-only file with checksummed frames, synced by every group commit
/// (see the module docs). One process at a time: the directory's `LOCK`
/// file is locked while the log is open.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rhiz_events::EventsError> {
/// use rhiz_events::{AppendOutcome, EventLog, FileEventLog, FileLogOptions, Lane, NewEvent};
///
/// let dir = tempfile::tempdir().unwrap();
/// let log = FileEventLog::open(dir.path().join("events"), FileLogOptions::default()).await?;
/// let event = NewEvent {
///     id: "e-1".into(),
///     key: "at://did:plc:abc/net.rhiz.relationship.record/1".into(),
///     lane: Lane::Normal,
///     event_type: "relationship.created".into(),
///     payload: b"{}".to_vec(),
/// };
/// assert!(matches!(log.append_one(event.clone()).await?, AppendOutcome::Appended { .. }));
/// assert_eq!(log.append_one(event).await?, AppendOutcome::Duplicate);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FileEventLog {
    writer: Handle,
}

impl FileEventLog {
    /// Opens (creating if needed) the log in directory `dir`, recovers what
    /// it holds, and starts its writer thread.
    pub async fn open(dir: impl AsRef<Path>, options: FileLogOptions) -> Result<Self, EventsError> {
        let dir = dir.as_ref().to_path_buf();
        let max_group = options.max_group_commit;
        let writer = Handle::spawn("rhiz-events-writer", max_group, move || {
            Store::open(dir, options)
        })
        .await?;
        Ok(Self { writer })
    }
}

embedded_event_log!(FileEventLog);

/// Where a payload is: in the current file, or in the open group's frame
/// body until that is written.
#[derive(Debug, Clone, Copy)]
enum Place {
    File(u64),
    Group(usize),
}

/// A payload's place and length.
#[derive(Debug, Clone, Copy)]
struct Location {
    place: Place,
    len: u32,
}

/// A pending event or dead letter, without its payload.
#[derive(Debug)]
struct Held {
    identity: Identity,
    status: Status,
    digest: IdDigest,
    payload: Location,
}

impl Held {
    fn new_event(&self) -> NewEvent {
        NewEvent {
            id: self.identity.id.clone(),
            key: self.identity.key.clone(),
            lane: self.identity.lane,
            event_type: self.identity.event_type.clone(),
            payload: Vec::new(),
        }
    }
}

/// What an id was last seen as, in 8 bytes (the id set holds one per
/// retained id): pending or dead at a position, or applied at a time
/// (microseconds since the Unix epoch), told apart by the top bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen(u64);

impl Seen {
    const APPLIED: u64 = 1 << 63;

    fn held(seq: u64) -> Self {
        Self(seq & !Self::APPLIED)
    }

    fn applied(at: SystemTime) -> Self {
        Self(to_micros(at).max(0) as u64 | Self::APPLIED)
    }

    /// When the id was applied, if it was.
    fn applied_at(self) -> Option<SystemTime> {
        (self.0 & Self::APPLIED != 0).then(|| from_micros((self.0 & !Self::APPLIED) as i64))
    }
}

/// The log's whole state, as the records in the file build it.
#[derive(Debug, Default)]
struct State {
    events: BTreeMap<u64, Held>,
    /// Every id held or applied within the retention. Applied ones are
    /// forgotten by [`State::expire`], a sweep of the whole set.
    ids: HashMap<IdDigest, Seen, foldhash::fast::RandomState>,
    next_seq: u64,
    counts: LogCounts,
}

impl State {
    /// Applies one record read back from a file; for an event,
    /// `payload_at` is where its payload is in the file.
    fn apply(&mut self, record: Record<'_>, payload_at: u64, cutoff: SystemTime) {
        match record {
            Record::Event(identity, status, payload) => {
                let location = Location {
                    place: Place::File(payload_at),
                    len: payload.len() as u32,
                };
                let digest = digest(&identity.id);
                self.hold(identity, digest, status, location);
            }
            Record::Status(seq, status) => self.set_status(seq, status),
            Record::Applied(at, seqs) => {
                for seq in seqs {
                    self.settle(seq, at);
                }
            }
            Record::Purged(seqs) => {
                for seq in seqs {
                    self.forget(seq);
                }
            }
            Record::AppliedIds(ids) => {
                for (at, digest) in ids.into_iter().filter(|(at, _)| *at >= cutoff) {
                    self.remember_applied(digest, at);
                }
            }
            Record::Checkpoint(next_seq) => self.next_seq = self.next_seq.max(next_seq),
        }
    }

    /// Holds an event whose id has `digest`, pending or dead.
    fn hold(&mut self, identity: Identity, digest: IdDigest, status: Status, payload: Location) {
        let seq = identity.seq;
        self.next_seq = self.next_seq.max(seq + 1);
        self.ids.insert(digest, Seen::held(seq));
        let held = Held {
            identity,
            status,
            digest,
            payload,
        };
        self.count(&held, 1);
        if let Some(old) = self.events.insert(seq, held) {
            self.count(&old, -1);
        }
    }

    fn set_status(&mut self, seq: u64, status: Status) {
        let Some(mut held) = self.events.remove(&seq) else {
            return;
        };
        self.count(&held, -1);
        held.status = status;
        self.count(&held, 1);
        self.events.insert(seq, held);
    }

    /// Settles the pending event at `seq` as applied at `at`; returns
    /// whether one was pending there.
    fn settle(&mut self, seq: u64, at: SystemTime) -> bool {
        match self.events.get(&seq) {
            Some(held) if held.status.state == EventState::Pending => {}
            _ => return false,
        }
        let held = self.events.remove(&seq).expect("checked above");
        self.count(&held, -1);
        self.remember_applied(held.digest, at);
        true
    }

    /// Removes the event at `seq` and forgets its id.
    fn forget(&mut self, seq: u64) {
        if let Some(held) = self.events.remove(&seq) {
            self.count(&held, -1);
            self.ids.remove(&held.digest);
        }
    }

    fn remember_applied(&mut self, digest: IdDigest, at: SystemTime) {
        let before = self.ids.insert(digest, Seen::applied(at));
        if before.and_then(Seen::applied_at).is_none() {
            self.counts.applied_retained += 1;
        }
    }

    /// Forgets the ids applied before `cutoff`: one pass over the id set,
    /// which [`Store::between_groups`] runs a few times per retention.
    fn expire(&mut self, cutoff: SystemTime) {
        let before = self.ids.len();
        self.ids
            .retain(|_, seen| seen.applied_at().is_none_or(|at| at >= cutoff));
        let forgotten = (before - self.ids.len()) as u64;
        self.counts.applied_retained = self.counts.applied_retained.saturating_sub(forgotten);
    }

    /// The ids applied within the retention, with when.
    fn applied_ids(&self) -> impl Iterator<Item = (SystemTime, IdDigest)> + '_ {
        self.ids
            .iter()
            .filter_map(|(digest, seen)| seen.applied_at().map(|at| (at, *digest)))
    }

    fn count(&mut self, held: &Held, delta: i64) {
        let counter = match held.status.state {
            EventState::Pending => &mut self.counts.pending[held.identity.lane.index()],
            EventState::DeadLetter => &mut self.counts.dead_letters,
        };
        *counter = counter.saturating_add_signed(delta);
    }
}

/// The open file and the state it holds; runs on the writer thread only.
struct Store {
    dir: PathBuf,
    options: FileLogOptions,
    /// Held for as long as the log is open: the directory's lock.
    _lock: File,
    /// Number of the current file (its name, see [`file_name`]).
    number: u64,
    file: File,
    /// Length of the current file: where the next frame goes.
    end: u64,
    state: State,
    /// The records of the open group.
    group: Encoder,
    /// Positions of the events appended in the open group.
    group_payloads: Vec<u64>,
    /// Why the log stopped taking writes: a write or sync failed, so the
    /// memory may hold changes the file does not; the next group first
    /// rebuilds the state from the file ([`Store::recover`]).
    broken: Option<String>,
    /// Size at which to move the live state to a new file next.
    compact_at: u64,
    /// When applied ids were last swept for expiry.
    last_expiry: std::time::Instant,
}

fn file_name(number: u64) -> String {
    format!("{number:020}.log")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EventsError + '_ {
    move |source| EventsError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The numbers of the log files in `dir`, lowest first.
fn file_numbers(dir: &Path) -> Result<Vec<u64>, EventsError> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        if let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            numbers.push(number);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Syncs the directory itself, so that files created or deleted in it stay so.
fn sync_dir(dir: &Path) -> Result<(), EventsError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// What reading a log file found.
struct Loaded {
    state: State,
    /// Length of the file's valid part: frames after it are torn.
    end: u64,
    checkpointed: bool,
}

fn load(path: &Path, cutoff: SystemTime) -> Result<Loaded, EventsError> {
    let data = fs::read(path).map_err(io(path))?;
    let corrupt = |at: usize, reason: String| EventsError::Corrupt {
        entry: format!("{} at byte {at}", path.display()),
        reason,
    };
    if !data.starts_with(MAGIC) {
        if MAGIC.starts_with(&data) {
            // A new file a crash cut short before its first frame.
            return Ok(Loaded {
                state: State::default(),
                end: 0,
                checkpointed: false,
            });
        }
        return Err(corrupt(
            0,
            "not an event log file of this version (its first bytes differ)".into(),
        ));
    }
    let mut state = State::default();
    let mut checkpointed = false;
    let mut at = MAGIC.len();
    loop {
        let (body, len) = match record::frame(&data[at..]) {
            Frame::Whole(body, len) => (body, len),
            // The last write, cut short by a crash: no one was told it was written.
            Frame::Incomplete => break,
            Frame::Damaged { len, .. }
                if at + len == data.len() || data[at..].iter().all(|&b| b == 0) =>
            {
                break
            }
            // Anywhere else the file is damaged: stop rather than lose what follows.
            Frame::Damaged { reason, .. } => return Err(corrupt(at, reason)),
        };
        let body_at = (at + record::FRAME_HEADER) as u64;
        let mut decoder = Decoder::new(body);
        while let Some(next) = decoder.next_record() {
            let (record, payload_at) = next.map_err(|reason| corrupt(at, reason))?;
            checkpointed |= matches!(record, Record::Checkpoint(_));
            state.apply(record, body_at + payload_at as u64, cutoff);
        }
        at += len;
    }
    Ok(Loaded {
        state,
        end: at as u64,
        checkpointed,
    })
}

impl Store {
    fn open(dir: PathBuf, options: FileLogOptions) -> Result<Self, EventsError> {
        if options.file_bytes < 4096 {
            return Err(EventsError::Config {
                field: "file_bytes",
                reason: "must be at least 4096".into(),
            });
        }
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.try_lock().map_err(|e| EventsError::Io {
            path: lock_path.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("the event log is in use by another process ({e})"),
            ),
        })?;
        let cutoff = cutoff(&options);
        let numbers = file_numbers(&dir)?;
        let mut current = None;
        for &number in numbers.iter().rev() {
            let loaded = load(&dir.join(file_name(number)), cutoff)?;
            if loaded.checkpointed {
                current = Some((number, loaded));
                break;
            }
        }
        let (number, loaded) = match current {
            Some(found) => found,
            None => {
                let number = numbers.last().map_or(1, |n| n + 1);
                let state = State {
                    next_seq: 1,
                    ..State::default()
                };
                let (end, _) = write_file(&dir, number, &state, None)?;
                let loaded = Loaded {
                    state,
                    end,
                    checkpointed: true,
                };
                (number, loaded)
            }
        };
        for &other in numbers.iter().filter(|&&n| n != number) {
            let path = dir.join(file_name(other));
            fs::remove_file(&path).map_err(io(&path))?;
        }
        let path = dir.join(file_name(number));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        set_tail_aside(&file, &path, loaded.end)?;
        prune_tails(&dir)?;
        file.sync_all().map_err(io(&path))?;
        sync_dir(&dir)?;
        let mut state = loaded.state;
        state.expire(cutoff);
        Ok(Self {
            dir,
            compact_at: options.file_bytes,
            options,
            _lock: lock,
            number,
            file,
            end: loaded.end,
            state,
            group: Encoder::default(),
            group_payloads: Vec::new(),
            broken: None,
            last_expiry: std::time::Instant::now(),
        })
    }

    /// The current file's path.
    fn path(&self) -> PathBuf {
        self.dir.join(file_name(self.number))
    }

    fn read_payload(&self, location: Location) -> Result<Vec<u8>, EventsError> {
        let len = location.len as usize;
        match location.place {
            Place::File(offset) => {
                let mut payload = vec![0; len];
                self.file
                    .read_exact_at(&mut payload, offset)
                    .map_err(io(&self.path()))?;
                Ok(payload)
            }
            Place::Group(at) => Ok(self.group.body()[at..at + len].to_vec()),
        }
    }

    /// The event at `seq` as a caller sees it, payload read from the file.
    fn stored(&self, seq: u64) -> Result<StoredEvent, EventsError> {
        let held = &self.state.events[&seq];
        let mut event = held.new_event();
        event.payload = self.read_payload(held.payload)?;
        let status = &held.status;
        Ok(StoredEvent {
            seq,
            event,
            enqueued_at: held.identity.enqueued_at,
            attempts: status.attempts,
            next_attempt_at: status.next_attempt_at,
            last_error: status.last_error.clone(),
            failed_attempts: status.failed_attempts.clone(),
            updated_at: status.updated_at,
            state: status.state,
        })
    }

    /// Positions of the dead letters `filter` selects, in log order.
    fn matching_dead(&self, filter: &DeadLetterFilter) -> Vec<u64> {
        self.state
            .events
            .iter()
            .filter(|(_, h)| {
                h.status.state == EventState::DeadLetter && filter.matches(&h.new_event())
            })
            .map(|(&seq, _)| seq)
            .collect()
    }

    /// A pending event's status with one more failed attempt; `None` when
    /// nothing is pending at `seq`.
    fn failed_status(&self, seq: u64, error: &str, now: SystemTime) -> Option<Status> {
        let held = self.state.events.get(&seq)?;
        if held.status.state != EventState::Pending {
            return None;
        }
        let mut status = held.status.clone();
        history::push(
            &mut status.failed_attempts,
            FailedAttempt {
                at: now,
                error: error.to_owned(),
            },
        );
        status.attempts += 1;
        status.last_error = Some(error.to_owned());
        status.updated_at = now;
        Some(status)
    }

    fn write_status(&mut self, seq: u64, status: Status) {
        self.group.push(&Record::Status(seq, status.clone()));
        self.state.set_status(seq, status);
    }

    /// After a failed write: cuts the file back to the last whole group
    /// (every group before it was synced) and rebuilds the state from it, so
    /// the log takes writes again once the disk does (space freed, say).
    fn recover(&mut self) -> Result<(), EventsError> {
        let path = self.path();
        self.file.set_len(self.end).map_err(io(&path))?;
        self.file.sync_all().map_err(io(&path))?;
        let loaded = load(&path, cutoff(&self.options))?;
        self.state = loaded.state;
        self.end = loaded.end;
        self.group.clear();
        self.group_payloads.clear();
        self.broken = None;
        tracing::info!(file = %path.display(), "event log: writing again after a failed write");
        Ok(())
    }

    /// The bytes of payload the live events hold in the file.
    fn live_payload_bytes(&self) -> u64 {
        self.state
            .events
            .values()
            .map(|held| u64::from(held.payload.len))
            .sum()
    }

    /// Moves the live state into a new file and deletes the current one.
    fn compact(&mut self) -> Result<(), EventsError> {
        let number = self.number + 1;
        let (end, places) = write_file(&self.dir, number, &self.state, Some(self))?;
        let path = self.dir.join(file_name(number));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        for (held, offset) in self.state.events.values_mut().zip(places) {
            held.payload.place = Place::File(offset);
        }
        let old = self.path();
        self.number = number;
        self.file = file;
        self.end = end;
        fs::remove_file(&old).map_err(io(&old))?;
        sync_dir(&self.dir)
    }
}

/// Cuts the file at `path` back to its first `end` bytes, the frames read
/// whole. What follows is normally the last write, cut short by a crash;
/// it is kept beside the file (`….log.tail-END`) rather than destroyed, in
/// case it was damage in the middle of the file (a length field hit by a
/// bad sector reads as a frame running past the end). [`prune_tails`]
/// bounds how many are kept.
fn set_tail_aside(file: &File, path: &Path, end: u64) -> Result<(), EventsError> {
    let len = file.metadata().map_err(io(path))?.len();
    if len <= end {
        return Ok(());
    }
    let mut tail = vec![0; (len - end) as usize];
    file.read_exact_at(&mut tail, end).map_err(io(path))?;
    let aside = path.with_extension(format!("log.tail-{end}"));
    fs::write(&aside, &tail).map_err(io(&aside))?;
    tracing::warn!(
        file = %path.display(),
        kept_at = end,
        dropped_bytes = tail.len(),
        set_aside = %aside.display(),
        "event log: dropped an incomplete last write (a crash cut it short)"
    );
    file.set_len(end).map_err(io(path))
}

/// How many set-aside tails (`….log.tail-N`) a log keeps: the newest.
const TAILS_KEPT: usize = 8;

/// Deletes all but the [`TAILS_KEPT`] newest set-aside tails in `dir`.
/// A tail is the unfinished last write of a crash, kept for whoever looks
/// into the crash; no caller was told it was written, so nothing accepted
/// is lost with it, and without a bound every crash would leave one more.
fn prune_tails(dir: &Path) -> Result<(), EventsError> {
    let mut tails = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_name().to_string_lossy().contains(".log.tail-") {
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_err(io(&entry.path()))?;
            tails.push((modified, entry.path()));
        }
    }
    tails.sort();
    let old = tails.len().saturating_sub(TAILS_KEPT);
    for (_, path) in tails.drain(..old) {
        fs::remove_file(&path).map_err(io(&path))?;
        tracing::info!(file = %path.display(), kept = TAILS_KEPT, "event log: deleted an old set-aside tail");
    }
    Ok(())
}

/// How often the id set is swept for expired ids: a sixteenth of the
/// retention, between 100 ms and a minute, so an id outlives its retention
/// by at most that much and a sweep of millions of ids (tens of
/// milliseconds) runs rarely.
fn expiry_interval(options: &FileLogOptions) -> Duration {
    (options.idempotency_retention / 16).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

/// How far back applied ids are remembered, from now.
fn cutoff(options: &FileLogOptions) -> SystemTime {
    SystemTime::now()
        .checked_sub(options.idempotency_retention)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Writes file `number` holding `state` (its events' payloads read through
/// `payloads`, when it has events) and a checkpoint, syncs it and the
/// directory, and returns its length and where each event's payload now is,
/// in log order. A file left unfinished by a crash has no checkpoint and is
/// deleted on the next open.
fn write_file(
    dir: &Path,
    number: u64,
    state: &State,
    payloads: Option<&Store>,
) -> Result<(u64, Vec<u64>), EventsError> {
    let path = dir.join(file_name(number));
    let result = FileWriter::create(&path).and_then(|mut out| {
        let mut places = Vec::with_capacity(state.events.len());
        let mut in_frame = Vec::new();
        for held in state.events.values() {
            let store = payloads.expect("a state with events has a file to read them from");
            let payload = store.read_payload(held.payload)?;
            in_frame.push(
                out.encoder
                    .push_event(&held.identity, &held.status, &payload),
            );
            if out.encoder.len() >= FileWriter::FRAME_BYTES {
                let body_at = out.flush()?;
                places.extend(in_frame.drain(..).map(|at| body_at + at as u64));
            }
        }
        let body_at = out.flush()?;
        places.extend(in_frame.drain(..).map(|at| body_at + at as u64));
        let ids: Vec<(SystemTime, IdDigest)> = state.applied_ids().collect();
        for chunk in ids.chunks(FileWriter::FRAME_BYTES / 24) {
            out.encoder.push(&Record::AppliedIds(chunk.to_vec()));
            out.flush()?;
        }
        out.encoder.push(&Record::Checkpoint(state.next_seq));
        out.flush()?;
        let end = out.finish()?;
        sync_dir(dir)?;
        Ok((end, places))
    });
    if result.is_err() {
        let _ = fs::remove_file(&path);
    }
    result
}

/// Writes a new log file frame by frame.
struct FileWriter<'p> {
    path: &'p Path,
    out: std::io::BufWriter<File>,
    encoder: Encoder,
    end: u64,
}

impl<'p> FileWriter<'p> {
    /// Frames of carried state are cut at about this size.
    const FRAME_BYTES: usize = 1 << 20;

    fn create(path: &'p Path) -> Result<Self, EventsError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        let mut writer = Self {
            path,
            out: std::io::BufWriter::new(file),
            encoder: Encoder::default(),
            end: 0,
        };
        writer.write(MAGIC)?;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), EventsError> {
        std::io::Write::write_all(&mut self.out, bytes).map_err(io(self.path))?;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Writes the records encoded so far as a frame; returns where its body starts.
    fn flush(&mut self) -> Result<u64, EventsError> {
        let body_at = self.end + record::FRAME_HEADER as u64;
        if !self.encoder.is_empty() {
            std::io::Write::write_all(&mut self.out, self.encoder.frame())
                .map_err(io(self.path))?;
            self.end += (record::FRAME_HEADER + self.encoder.len()) as u64;
            self.encoder.clear();
        }
        Ok(body_at)
    }

    /// Syncs the file; returns its length.
    fn finish(self) -> Result<u64, EventsError> {
        let file = self.out.into_inner().map_err(|e| EventsError::Io {
            path: self.path.display().to_string(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io(self.path))?;
        Ok(self.end)
    }
}

impl GroupStore for Store {
    fn begin(&mut self) -> Result<(), EventsError> {
        let Some(reason) = self.broken.clone() else {
            return Ok(());
        };
        self.recover().map_err(|e| {
            EventsError::Commit(format!(
                "{reason}; the log takes no writes until it can read its file back ({e})"
            ))
        })
    }

    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<AppendOutcome>, EventsError> {
        let now = SystemTime::now();
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            let digest = digest(&event.id);
            if self.state.ids.contains_key(&digest) {
                outcomes.push(AppendOutcome::Duplicate);
                continue;
            }
            let seq = self.state.next_seq;
            let identity = Identity {
                seq,
                id: event.id.clone(),
                key: event.key.clone(),
                lane: event.lane,
                event_type: event.event_type.clone(),
                enqueued_at: now,
            };
            let status = Status {
                state: EventState::Pending,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
                failed_attempts: Vec::new(),
                updated_at: now,
            };
            let at = self.group.push_event(&identity, &status, &event.payload);
            self.group_payloads.push(seq);
            let location = Location {
                place: Place::Group(at),
                len: event.payload.len() as u32,
            };
            self.state.hold(identity, digest, status, location);
            outcomes.push(AppendOutcome::Appended { seq });
        }
        Ok(outcomes)
    }

    fn ack(&mut self, seqs: &[u64]) -> Result<(), EventsError> {
        let now = SystemTime::now();
        let settled: Vec<u64> = seqs
            .iter()
            .copied()
            .filter(|&seq| self.state.settle(seq, now))
            .collect();
        if !settled.is_empty() {
            self.group.push(&Record::Applied(now, settled));
        }
        Ok(())
    }

    fn fail(&mut self, seq: u64, error: &str, next: SystemTime) -> Result<u32, EventsError> {
        let Some(mut status) = self.failed_status(seq, error, SystemTime::now()) else {
            return Ok(0);
        };
        status.next_attempt_at = Some(next);
        let attempts = status.attempts;
        self.write_status(seq, status);
        Ok(attempts)
    }

    fn dead(&mut self, seq: u64, error: &str) -> Result<(), EventsError> {
        if let Some(mut status) = self.failed_status(seq, error, SystemTime::now()) {
            status.state = EventState::DeadLetter;
            status.next_attempt_at = None;
            self.write_status(seq, status);
        }
        Ok(())
    }

    fn replay(&mut self, filter: &DeadLetterFilter) -> Result<Vec<StoredEvent>, EventsError> {
        let now = SystemTime::now();
        let seqs = self.matching_dead(filter);
        for &seq in &seqs {
            let mut status = self.state.events[&seq].status.clone();
            status.state = EventState::Pending;
            status.attempts = 0;
            status.next_attempt_at = None;
            status.updated_at = now;
            self.write_status(seq, status);
        }
        seqs.into_iter().map(|seq| self.stored(seq)).collect()
    }

    fn purge(&mut self, filter: &DeadLetterFilter) -> Result<u64, EventsError> {
        let seqs = self.matching_dead(filter);
        for &seq in &seqs {
            self.state.forget(seq);
        }
        let purged = seqs.len() as u64;
        if purged > 0 {
            self.group.push(&Record::Purged(seqs));
        }
        Ok(purged)
    }

    fn pending(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, EventsError> {
        self.state
            .events
            .range(after.saturating_add(1)..)
            .filter(|(_, h)| h.status.state == EventState::Pending)
            .take(limit)
            .map(|(&seq, _)| self.stored(seq))
            .collect()
    }

    fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        self.matching_dead(filter)
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|seq| self.stored(seq))
            .collect()
    }

    fn counts(&self) -> LogCounts {
        self.state.counts
    }

    fn commit(&mut self) -> Result<(), String> {
        if self.group.is_empty() {
            return Ok(());
        }
        let frame_len = (record::FRAME_HEADER + self.group.len()) as u64;
        let body_at = self.end + record::FRAME_HEADER as u64;
        let written = self
            .file
            .write_all_at(self.group.frame(), self.end)
            .and_then(|()| self.file.sync_data());
        self.group.clear();
        let payloads = std::mem::take(&mut self.group_payloads);
        match written {
            Ok(()) => {
                for seq in payloads {
                    if let Some(held) = self.state.events.get_mut(&seq) {
                        if let Place::Group(at) = held.payload.place {
                            held.payload.place = Place::File(body_at + at as u64);
                        }
                    }
                }
                self.end += frame_len;
                Ok(())
            }
            Err(e) => {
                // `recover` cuts the file back before the next write.
                let reason = format!("writing {} failed: {e}", self.path().display());
                self.broken = Some(reason.clone());
                Err(reason)
            }
        }
    }

    fn between_groups(&mut self) {
        if self.last_expiry.elapsed() >= expiry_interval(&self.options) {
            self.state.expire(cutoff(&self.options));
            self.last_expiry = std::time::Instant::now();
        }
        if self.broken.is_some() || self.end < self.compact_at {
            return;
        }
        if self.live_payload_bytes() > self.end / 2 {
            // Mostly events still pending: the move would copy most of the
            // file. Look again once it has grown by another quarter of the
            // limit, when applies will have settled many of them.
            self.compact_at = self.end + self.options.file_bytes / 4;
            return;
        }
        let began = std::time::Instant::now();
        let from = self.end;
        match self.compact() {
            Ok(()) => {
                self.compact_at = self.options.file_bytes.max(self.end * 2);
                tracing::info!(
                    file = self.number,
                    from_bytes = from,
                    to_bytes = self.end,
                    live_events = self.state.events.len(),
                    applied_ids = self.state.counts.applied_retained,
                    took_ms = began.elapsed().as_secs_f64() * 1e3,
                    "event log moved its live state to a new file"
                );
            }
            Err(e) => {
                // Try again once the file has grown by another quarter.
                self.compact_at = self.end + self.options.file_bytes / 4;
                tracing::warn!(error = %e, "event log compaction failed; the file keeps growing");
            }
        }
    }
}
