//! The file log's on-disk format.
//!
//! A log file starts with [`MAGIC`], then holds frames: `len: u32 LE`,
//! `crc: u32 LE` (CRC-32 of the body), then `len` bytes of body, which is a
//! sequence of [`Record`]s. One group commit writes one frame, so a crash in
//! the middle of a write leaves a torn last frame that reopening drops as a
//! whole. Integers are little-endian; a string or byte string is its `u32`
//! length, then its bytes; an optional value is a `u8` flag, then the value.

use std::time::SystemTime;

use crate::event::{from_micros, to_micros};
use crate::{EventState, FailedAttempt, Lane};

/// The first bytes of every log file (format version 1).
pub(crate) const MAGIC: &[u8; 8] = b"RHIZEVL1";

/// Bytes before a frame's body: its length and checksum.
pub(crate) const FRAME_HEADER: usize = 8;

/// The frame checksum: CRC-32 (IEEE), with the processor's carry-less
/// multiply where it has one (byte tables cost an import 3 % of its
/// instructions).
fn checksum(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The 128-bit digest an event id is remembered by (the first half of its
/// SHA-256): sixteen bytes whatever the id's length, with collisions out of
/// reach even for ids chosen to collide.
pub(crate) type IdDigest = [u8; 16];

/// The digest of `id`; see [`IdDigest`].
pub(crate) fn digest(id: &str) -> IdDigest {
    use sha2::{Digest, Sha256};
    let full = Sha256::digest(id.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// What can change about an event after it is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) state: EventState,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: Option<SystemTime>,
    pub(crate) last_error: Option<String>,
    pub(crate) failed_attempts: Vec<FailedAttempt>,
    pub(crate) updated_at: SystemTime,
}

/// An event's identity, as appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) lane: Lane,
    pub(crate) event_type: String,
    pub(crate) enqueued_at: SystemTime,
}

/// One change to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// An event with its status and payload: an append, or a live event
    /// carried into a new file.
    Event(Identity, Status, &'a [u8]),
    /// A new status of the event at `seq` (failed, dead, replayed).
    Status(u64, Status),
    /// The events at these positions were applied at this time.
    Applied(SystemTime, Vec<u64>),
    /// The dead letters at these positions were purged; their ids are forgotten.
    Purged(Vec<u64>),
    /// Ids of applied events carried into a new file, with when each was applied.
    AppliedIds(Vec<(SystemTime, IdDigest)>),
    /// The end of a new file's carried state; the next position to give out.
    Checkpoint(u64),
}

const EVENT: u8 = 1;
const STATUS: u8 = 2;
const APPLIED: u8 = 3;
const PURGED: u8 = 4;
const APPLIED_IDS: u8 = 5;
const CHECKPOINT: u8 = 6;

/// Writes records into a frame: the body grows after room for the header,
/// which [`Encoder::frame`] fills in, so a frame is written from the
/// encoder's own buffer, which the next group reuses.
#[derive(Debug)]
pub(crate) struct Encoder {
    frame: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self {
            frame: vec![0; FRAME_HEADER],
        }
    }
}

impl Encoder {
    /// Bytes of body encoded so far.
    pub(crate) fn len(&self) -> usize {
        self.frame.len() - FRAME_HEADER
    }

    /// The body encoded so far.
    pub(crate) fn body(&self) -> &[u8] {
        &self.frame[FRAME_HEADER..]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the encoder, keeping its buffer (up to 64 MiB of it).
    pub(crate) fn clear(&mut self) {
        const KEPT: usize = 64 << 20;
        self.frame.truncate(FRAME_HEADER);
        self.frame.shrink_to(KEPT);
    }

    /// Encodes an event record from borrowed parts (appends and carried
    /// events need not build a [`Record`]); returns where its payload starts
    /// in the body.
    pub(crate) fn push_event(
        &mut self,
        identity: &Identity,
        status: &Status,
        payload: &[u8],
    ) -> usize {
        self.u8(EVENT);
        self.u64(identity.seq);
        self.str(&identity.id);
        self.str(&identity.key);
        self.u8(identity.lane.index() as u8);
        self.str(&identity.event_type);
        self.time(identity.enqueued_at);
        self.status(status);
        self.u32(payload.len() as u32);
        let payload_at = self.len();
        self.frame.extend_from_slice(payload);
        payload_at
    }

    /// Encodes `record`.
    pub(crate) fn push(&mut self, record: &Record<'_>) {
        match record {
            Record::Event(identity, status, payload) => {
                self.push_event(identity, status, payload);
            }
            Record::Status(seq, status) => {
                self.u8(STATUS);
                self.u64(*seq);
                self.status(status);
            }
            Record::Applied(at, seqs) => {
                self.u8(APPLIED);
                self.time(*at);
                self.seqs(seqs);
            }
            Record::Purged(seqs) => {
                self.u8(PURGED);
                self.seqs(seqs);
            }
            Record::AppliedIds(ids) => {
                self.u8(APPLIED_IDS);
                self.u32(ids.len() as u32);
                for (at, digest) in ids {
                    self.time(*at);
                    self.frame.extend_from_slice(digest);
                }
            }
            Record::Checkpoint(next_seq) => {
                self.u8(CHECKPOINT);
                self.u64(*next_seq);
            }
        }
    }

    /// The frame holding the records pushed so far, header and body; call
    /// [`Encoder::clear`] once it is written.
    pub(crate) fn frame(&mut self) -> &[u8] {
        let len = (self.len() as u32).to_le_bytes();
        let crc = checksum(self.body()).to_le_bytes();
        self.frame[..4].copy_from_slice(&len);
        self.frame[4..FRAME_HEADER].copy_from_slice(&crc);
        &self.frame
    }

    fn status(&mut self, status: &Status) {
        self.u8(match status.state {
            EventState::Pending => 0,
            EventState::DeadLetter => 1,
        });
        self.u32(status.attempts);
        self.time(status.updated_at);
        match status.next_attempt_at {
            Some(at) => {
                self.u8(1);
                self.time(at);
            }
            None => self.u8(0),
        }
        match &status.last_error {
            Some(error) => {
                self.u8(1);
                self.str(error);
            }
            None => self.u8(0),
        }
        self.u32(status.failed_attempts.len() as u32);
        for attempt in &status.failed_attempts {
            self.time(attempt.at);
            self.str(&attempt.error);
        }
    }

    fn seqs(&mut self, seqs: &[u64]) {
        self.u32(seqs.len() as u32);
        for &seq in seqs {
            self.u64(seq);
        }
    }

    fn u8(&mut self, v: u8) {
        self.frame.push(v);
    }

    fn u32(&mut self, v: u32) {
        self.frame.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.frame.extend_from_slice(&v.to_le_bytes());
    }

    fn time(&mut self, t: SystemTime) {
        self.frame.extend_from_slice(&to_micros(t).to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.frame.extend_from_slice(s.as_bytes());
    }
}

/// What starts at a position of a log file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A frame with a good checksum: its body, and its length with the header.
    Whole(&'a [u8], usize),
    /// Fewer bytes than the frame's header or its length announce.
    Incomplete,
    /// A frame that cannot be right: a checksum mismatch, or an empty body
    /// (never written). `len` is its length with the header.
    Damaged { reason: String, len: usize },
}

/// The frame at the start of `data`.
pub(crate) fn frame(data: &[u8]) -> Frame<'_> {
    let Some(header) = data.get(..FRAME_HEADER) else {
        return Frame::Incomplete;
    };
    let mut len = [0; 4];
    len.copy_from_slice(&header[..4]);
    let len = u32::from_le_bytes(len) as usize;
    let mut crc = [0; 4];
    crc.copy_from_slice(&header[4..]);
    let Some(body) = data.get(FRAME_HEADER..FRAME_HEADER + len) else {
        return Frame::Incomplete;
    };
    if len == 0 {
        return Frame::Damaged {
            reason: "an empty frame".into(),
            len: FRAME_HEADER,
        };
    }
    if checksum(body) != u32::from_le_bytes(crc) {
        return Frame::Damaged {
            reason: format!("checksum mismatch in a frame of {len} bytes"),
            len: FRAME_HEADER + len,
        };
    }
    Frame::Whole(body, FRAME_HEADER + len)
}

/// Reads the records of a frame body, in order.
pub(crate) struct Decoder<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self { body, at: 0 }
    }

    /// The next record and, for an event, where its payload starts in the
    /// body; `None` at the end.
    pub(crate) fn next_record(&mut self) -> Option<Result<(Record<'a>, usize), String>> {
        if self.at == self.body.len() {
            return None;
        }
        Some(self.record())
    }

    fn record(&mut self) -> Result<(Record<'a>, usize), String> {
        let tag = self.u8()?;
        let record = match tag {
            EVENT => {
                let identity = Identity {
                    seq: self.u64()?,
                    id: self.string()?,
                    key: self.string()?,
                    lane: Lane::from_index(self.u8()? as usize).ok_or("unknown lane")?,
                    event_type: self.string()?,
                    enqueued_at: self.time()?,
                };
                let status = self.status()?;
                let len = self.u32()? as usize;
                let payload_at = self.at;
                let payload = self.take(len)?;
                return Ok((Record::Event(identity, status, payload), payload_at));
            }
            STATUS => Record::Status(self.u64()?, self.status()?),
            APPLIED => Record::Applied(self.time()?, self.seqs()?),
            PURGED => Record::Purged(self.seqs()?),
            APPLIED_IDS => {
                let n = self.u32()? as usize;
                let mut ids = Vec::with_capacity(n.min(self.body.len() / 24));
                for _ in 0..n {
                    let at = self.time()?;
                    let digest = self.array::<16>()?;
                    ids.push((at, digest));
                }
                Record::AppliedIds(ids)
            }
            CHECKPOINT => Record::Checkpoint(self.u64()?),
            other => return Err(format!("unknown record type {other}")),
        };
        Ok((record, 0))
    }

    fn status(&mut self) -> Result<Status, String> {
        let state = match self.u8()? {
            0 => EventState::Pending,
            1 => EventState::DeadLetter,
            other => return Err(format!("unknown event state {other}")),
        };
        let attempts = self.u32()?;
        let updated_at = self.time()?;
        let next_attempt_at = match self.u8()? {
            0 => None,
            _ => Some(self.time()?),
        };
        let last_error = match self.u8()? {
            0 => None,
            _ => Some(self.string()?),
        };
        let n = self.u32()? as usize;
        let mut failed_attempts = Vec::with_capacity(n.min(crate::FAILED_ATTEMPTS_KEPT));
        for _ in 0..n {
            failed_attempts.push(FailedAttempt {
                at: self.time()?,
                error: self.string()?,
            });
        }
        Ok(Status {
            state,
            attempts,
            next_attempt_at,
            last_error,
            failed_attempts,
            updated_at,
        })
    }

    fn seqs(&mut self) -> Result<Vec<u64>, String> {
        let n = self.u32()? as usize;
        let mut seqs = Vec::with_capacity(n.min(self.body.len() / 8));
        for _ in 0..n {
            seqs.push(self.u64()?);
        }
        Ok(seqs)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let bytes = self
            .body
            .get(self.at..self.at.saturating_add(n))
            .ok_or("record runs past the end of its frame")?;
        self.at += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn time(&mut self) -> Result<SystemTime, String> {
        let micros = i64::from_le_bytes(self.array()?);
        Ok(from_micros(micros))
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a string is not UTF-8".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(micros: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
    }

    #[test]
    fn every_record_round_trips_through_a_frame() {
        let status = Status {
            state: EventState::DeadLetter,
            attempts: 3,
            next_attempt_at: Some(at(7)),
            last_error: Some("boom".into()),
            failed_attempts: vec![FailedAttempt {
                at: at(5),
                error: "boom".into(),
            }],
            updated_at: at(9),
        };
        let identity = Identity {
            seq: 42,
            id: "e-1".into(),
            key: "at://k".into(),
            lane: Lane::High,
            event_type: "relationship.created".into(),
            enqueued_at: at(1),
        };
        let records = vec![
            Record::Event(identity, status.clone(), b"{\"a\":1}"),
            Record::Status(42, status),
            Record::Applied(at(11), vec![1, 2, 3]),
            Record::Purged(vec![4]),
            Record::AppliedIds(vec![(at(12), digest("x"))]),
            Record::Checkpoint(43),
        ];
        let mut encoder = Encoder::default();
        for r in &records {
            encoder.push(r);
        }
        let bytes = encoder.frame().to_vec();
        let Frame::Whole(body, len) = frame(&bytes) else {
            panic!("a frame just written is whole");
        };
        assert_eq!(len, bytes.len());
        let mut decoder = Decoder::new(body);
        let mut decoded = Vec::new();
        let mut payload_ats = Vec::new();
        while let Some(r) = decoder.next_record() {
            let (record, payload_at) = r.unwrap();
            decoded.push(record);
            payload_ats.push(payload_at);
        }
        assert_eq!(decoded, records);
        assert_eq!(&body[payload_ats[0]..payload_ats[0] + 7], b"{\"a\":1}");

        // An event encoded from borrowed parts is the same bytes.
        let Record::Event(identity, status, payload) = &records[0] else {
            unreachable!("the first record is an event");
        };
        let mut borrowed = Encoder::default();
        assert_eq!(
            borrowed.push_event(identity, status, payload),
            payload_ats[0]
        );
        let mut owned = Encoder::default();
        owned.push(&records[0]);
        assert_eq!(borrowed.body(), owned.body());
    }

    #[test]
    fn torn_frames_are_incomplete_and_flipped_bits_or_zeros_damaged() {
        let mut encoder = Encoder::default();
        encoder.push(&Record::Checkpoint(1));
        let bytes = encoder.frame().to_vec();
        assert_eq!(frame(&bytes[..bytes.len() - 1]), Frame::Incomplete);
        assert_eq!(frame(&bytes[..3]), Frame::Incomplete);
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(frame(&flipped), Frame::Damaged { len, .. } if len == bytes.len()));
        assert!(matches!(frame(&[0; 16]), Frame::Damaged { len: 8, .. }));
    }

    #[test]
    fn garbage_bodies_are_errors_not_panics() {
        for body in [
            &[9u8][..],
            &[EVENT, 1, 2],
            &[APPLIED, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255],
        ] {
            let mut decoder = Decoder::new(body);
            assert!(decoder.next_record().unwrap().is_err());
        }
    }
}
