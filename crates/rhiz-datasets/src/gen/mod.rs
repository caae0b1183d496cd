//! The seeded synthetic network behind `rhiz gen`.
//!
//! # What is generated
//!
//! Lines come in this order, so an importer applying them in order never
//! meets a reference to a record it has not seen:
//!
//! 1. one `entity.profile.updated` per DID (honest DIDs, then Sybils);
//! 2. the honest relationships (`relationship.created`), in time order;
//! 3. the Sybil region's relationships, then its attack edges;
//! 4. the honest attestations (`attestation.created`), then the Sybils'.
//!
//! **Graph.** Honest DIDs belong to communities whose sizes fall off as
//! `(c + 1)^-0.6`; each has a Pareto fitness (exponent 2.3). An edge picks
//! its first end by fitness over everyone, then, 85% of the time, its
//! second end by fitness within the first end's community, otherwise by
//! fitness over everyone (the Chung–Lu model with communities): degrees are
//! heavy-tailed, most ties are inside communities. Pairs are distinct and
//! never self-loops. The author is either end with equal probability.
//!
//! **Relationships.** Types: professional 28%, social 19%, personal 12%,
//! educational 8%, transactional 8%, organizational 7%, academic 7%,
//! family 6%, civic 5%. Strength: a Kumaraswamy(4, 2) law × 100, shifted a
//! little by type (family +6, transactional −8, …), mostly 40–95. Created
//! over the two years before `now`, more of them recently (the network
//! grows); `temporal.start` up to three years earlier; 40% carry a strength
//! history. Privacy: 88% public/full, 5% public/limited, 3% network, 2%
//! private, 2% anonymous consent (7% not discoverable). 8% are signed by
//! both participants and carry verification shape B; the others shape A
//! with no attestations yet.
//!
//! **Attestations.** `attestation_ratio` of the relationships that allow
//! attestation get 1–5 attestations (mean ≈ 1.8) from third parties, never
//! a participant, mostly from the author's community: 75% verify (confidence
//! 60–100), 10% strengthen, 8% weaken (with `suggestedStrength` and
//! `targetFields: ["strength"]`), 7% dispute; 30% carry evidence text.
//!
//! **Sybil region.** `fake_dids` DIDs, each linked to every other (when at
//! most 101) or to its 50 successors on a ring (a circulant graph of degree
//! 100), with strength 100, signatures and verification by both, and a
//! full-confidence verify attestation from a third Sybil on every internal
//! relationship. `attack_edges` distinct relationships join a uniformly
//! chosen honest DID (the author: a deceived honest user) to a Sybil.
//! [`GenReport::sybil_dids`] lists the Sybils: nothing in the records
//! marks them.
//!
//! **Identifiers.** DIDs are `did:plc:` + 24 base32 characters derived
//! from the seed and the DID's index (distinct by construction). Record
//! keys are TIDs of the record's time: honest relationships use clock id 0
//! and strictly increasing times, Sybil-phase relationships clock id 1,
//! attestations clock ids 2–1023 (with the attestation's ordinal in the
//! sub-millisecond digits), so keys never collide within a repository.
//! CIDs are derived from the record's JSON. Event ids are
//! `gen-<seed>-<config fingerprint, 8 hex>-<line number from 0>`.
//!
//! **Determinism.** Everything comes from the seed through SplitMix64 and
//! fixed formulas, never from the clock or a dependency's generator: the
//! same configuration gives byte-identical output.
//!
//! **Memory.** Lines are streamed. The generator keeps 8 bytes per honest
//! relationship (its two ends, to attest it later) plus, while drawing
//! relationships, a set of the pairs used (about 16 bytes each), and 16
//! bytes per honest DID.

mod names;
mod population;
mod records;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Write};

use chrono::{DateTime, Utc};
use rhiz_protocol::{
    AtUri, Attestation, Consent, Did, EntityProfile, EventBody, Nsid, Percent, Privacy, Record,
    RecordKey, RelationshipRecord, RelationshipType, Temporal, Tid, Visibility,
};
use serde_json::Map;

use crate::hash::{hash128, mix64, SplitMix64};
use crate::ids::generated_did;
use crate::{DatasetError, IngestionLine};
use population::Population;
use records::{datetime, AttestationPlan, RelationshipDraw, DAY_US};

/// The generated relationships span this many days before `now`.
pub const SPAN_DAYS: i64 = 730;

/// Days before `now` in which the Sybil region is created.
const SYBIL_WINDOW_DAYS: i64 = 60;

/// Share of honest relationships whose second end is drawn from everyone
/// rather than from the first end's community.
const CROSS_COMMUNITY_SHARE: f64 = 0.15;

/// Largest Sybil region whose DIDs are all linked to each other.
const COMPLETE_SYBIL_MAX: u32 = 101;

/// Successors each Sybil links to in a larger region.
const SYBIL_RING_REACH: u32 = 50;

/// What to generate.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rhiz_datasets::{generate, GenConfig, SybilConfig};
///
/// let mut config = GenConfig::new(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap());
/// config.seed = 7;
/// config.dids = 60;
/// config.relationships = 200;
/// config.communities = 3;
/// config.sybil = Some(SybilConfig { fake_dids: 5, attack_edges: 2 });
/// let mut out = Vec::new();
/// let report = generate(&config, &mut out)?;
/// assert_eq!(report.profiles, 65);
/// assert_eq!(report.relationships, 200);
/// assert_eq!(report.sybil_relationships, 10);
/// assert_eq!(report.attack_edges, 2);
/// assert_eq!(report.sybil_dids.len(), 5);
/// assert_eq!(out.iter().filter(|&&b| b == b'\n').count() as u64, report.lines);
/// # Ok::<(), rhiz_datasets::DatasetError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// The seed: the same configuration gives the same bytes.
    pub seed: u64,
    /// Honest DIDs, 3 to 10,000,000 (tested from 1,000 to 1,000,000).
    pub dids: u32,
    /// Honest relationships, at most 100,000,000 and at most an eighth of
    /// all possible pairs.
    pub relationships: u64,
    /// Share (0–1) of the relationships allowing attestation that get
    /// attestations.
    pub attestation_ratio: f64,
    /// Communities, 1 to `dids / 3`.
    pub communities: u32,
    /// An optional Sybil region.
    pub sybil: Option<SybilConfig>,
    /// The end of the generated time span ([`SPAN_DAYS`] long). Passed in:
    /// the generator never reads the clock.
    pub now: DateTime<Utc>,
}

impl GenConfig {
    /// 1,000 DIDs in 10 communities, 5,000 relationships, 30% attested, no
    /// Sybils, seed 0, ending at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            seed: 0,
            dids: 1_000,
            relationships: 5_000,
            attestation_ratio: 0.3,
            communities: 10,
            sybil: None,
            now,
        }
    }

    /// Checks every setting's range.
    fn validate(&self) -> Result<(), DatasetError> {
        let invalid = |field, rule: &str| {
            Err(DatasetError::InvalidSetting {
                field,
                rule: rule.to_owned(),
            })
        };
        if !(3..=10_000_000).contains(&self.dids) {
            return invalid("dids", "must be from 3 to 10000000");
        }
        if self.communities == 0 || self.communities > self.dids / 3 {
            return invalid("communities", "must be from 1 to dids / 3");
        }
        let pairs = u64::from(self.dids) * u64::from(self.dids - 1) / 2;
        if self.relationships > 100_000_000 || self.relationships > pairs / 8 {
            return invalid(
                "relationships",
                "must be at most 100000000 and at most an eighth of the dids' pairs",
            );
        }
        if !(0.0..=1.0).contains(&self.attestation_ratio) {
            return invalid("attestation_ratio", "must be a number from 0 to 1");
        }
        let now_us = self.now.timestamp_micros();
        if !(SPAN_DAYS * DAY_US..=253_402_300_799_000_000).contains(&now_us) {
            return invalid("now", "must be from 1972 to 9999");
        }
        if let Some(s) = &self.sybil {
            if !(3..=100_000).contains(&s.fake_dids) {
                return invalid("sybil.fake_dids", "must be from 3 to 100000");
            }
            if u64::from(s.attack_edges) > u64::from(self.dids) * u64::from(s.fake_dids) / 2 {
                return invalid(
                    "sybil.attack_edges",
                    "must be at most half of dids × sybil.fake_dids",
                );
            }
        }
        Ok(())
    }

    /// 32 bits identifying the configuration, for event ids.
    fn fingerprint(&self) -> u32 {
        let text = format!(
            "{}|{}|{}|{}|{}|{:?}|{}",
            self.seed,
            self.dids,
            self.relationships,
            self.attestation_ratio,
            self.communities,
            self.sybil.as_ref().map(|s| (s.fake_dids, s.attack_edges)),
            self.now.timestamp_micros()
        );
        hash128(text.as_bytes()).0 as u32
    }
}

/// A Sybil region: fake DIDs densely linked to each other, joined to the
/// honest network by a few attack edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SybilConfig {
    /// Fake DIDs, 3 to 100,000.
    pub fake_dids: u32,
    /// Relationships between an honest DID and a fake one.
    pub attack_edges: u32,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenReport {
    /// Lines written.
    pub lines: u64,
    /// `entity.profile.updated` lines (honest and Sybil DIDs).
    pub profiles: u64,
    /// Honest `relationship.created` lines.
    pub relationships: u64,
    /// Relationships between two Sybils.
    pub sybil_relationships: u64,
    /// Relationships between an honest DID and a Sybil.
    pub attack_edges: u64,
    /// Honest `attestation.created` lines.
    pub attestations: u64,
    /// Attestations by Sybils of Sybil relationships.
    pub sybil_attestations: u64,
    /// The Sybil DIDs, in generation order.
    pub sybil_dids: Vec<Did>,
}

/// Writes the dataset `config` describes to `out` as NDJSON, one
/// ingestion body per line, and reports what it wrote.
///
/// Output is buffered internally and flushed before returning. Fails on a
/// setting out of range (before writing anything) or a write error.
pub fn generate(config: &GenConfig, out: &mut impl Write) -> Result<GenReport, DatasetError> {
    config.validate()?;
    let mut g = Generator::new(config, out)?;
    g.profiles()?;
    let edges = g.honest_relationships()?;
    let sybil_edges = g.sybil_relationships()?;
    g.honest_attestations(&edges)?;
    g.sybil_attestations(&sybil_edges)?;
    g.finish()
}

/// The three collections, parsed once.
struct Collections {
    profile: Nsid,
    relationship: Nsid,
    attestation: Nsid,
}

/// The state of one run.
struct Generator<'c, W: Write> {
    config: &'c GenConfig,
    out: BufWriter<W>,
    fingerprint: u32,
    collections: Collections,
    population: Population,
    community_names: Vec<String>,
    now_us: i64,
    start_us: i64,
    /// Attestations written so far (their ordinal spreads their keys).
    attestation_ordinal: u64,
    report: GenReport,
}

impl<'c, W: Write> Generator<'c, W> {
    fn new(config: &'c GenConfig, out: W) -> Result<Self, DatasetError> {
        let collections = Collections {
            profile: EntityProfile::NSID.parse()?,
            relationship: RelationshipRecord::NSID.parse()?,
            attestation: Attestation::NSID.parse()?,
        };
        let mut rng = SplitMix64::new(config.seed, u64::MAX);
        let population = Population::new(&mut rng, config.dids, config.communities);
        let now_us = config.now.timestamp_micros();
        Ok(Self {
            config,
            out: BufWriter::with_capacity(1 << 20, out),
            fingerprint: config.fingerprint(),
            collections,
            population,
            community_names: (0..config.communities as usize)
                .map(names::community_name)
                .collect(),
            now_us,
            start_us: now_us - SPAN_DAYS * DAY_US,
            attestation_ordinal: 0,
            report: GenReport::default(),
        })
    }

    /// The DID of generated entity `index` (Sybils follow the honest DIDs).
    fn did(&self, index: u32) -> Did {
        generated_did(self.config.seed, u64::from(index))
    }

    /// Writes the line of `body`, a record at `uri` written by `author`.
    fn emit(&mut self, author: Did, uri: AtUri, body: EventBody) -> Result<(), DatasetError> {
        let (seed, fingerprint, n) = (self.config.seed, self.fingerprint, self.report.lines);
        let line = IngestionLine::with_id_from(author, uri, body, |_, _| {
            format!("gen-{seed}-{fingerprint:08x}-{n}").parse()
        })?;
        line.write_to(&mut self.out)?;
        self.report.lines += 1;
        Ok(())
    }

    /// The URI of relationship `(author, tid)`.
    /// Emits a relationship of the Sybil region made at `t`, authored by
    /// its first participant.
    fn emit_sybil_relationship(
        &mut self,
        record: RelationshipRecord,
        t: i64,
    ) -> Result<(), DatasetError> {
        let author = record.participants[0].clone();
        let uri = self.relationship_uri(&author, Tid::from_parts(t as u64, 1));
        self.emit(author, uri, EventBody::created(Record::from(record)))
    }

    fn relationship_uri(&self, author: &Did, tid: Tid) -> AtUri {
        AtUri::from_parts(
            author,
            &self.collections.relationship,
            &RecordKey::from(tid),
        )
    }

    /// Step 1: a profile per DID, created early in the span (Sybils just
    /// before their region).
    fn profiles(&mut self) -> Result<(), DatasetError> {
        let honest = self.config.dids;
        let fakes = self.config.sybil.map_or(0, |s| s.fake_dids);
        let rkey: RecordKey = "self".parse()?;
        let sybil_start = self.now_us - SYBIL_WINDOW_DAYS * DAY_US;
        for index in 0..honest + fakes {
            let did = self.did(index);
            let (community, window) = if index < honest {
                let c = self.population.community_of(index);
                let window = (self.start_us, 30 * DAY_US);
                (Some(self.community_names[c].as_str()), window)
            } else {
                self.report.sybil_dids.push(did.clone());
                (None, (sybil_start - 5 * DAY_US, 5 * DAY_US))
            };
            let profile =
                records::profile(self.config.seed, u64::from(index), &did, community, window);
            let uri = AtUri::from_parts(&did, &self.collections.profile, &rkey);
            self.emit(did, uri, EventBody::updated(Record::from(profile)))?;
            self.report.profiles += 1;
        }
        Ok(())
    }

    /// The creation time of honest relationship `i` of `m`: strictly
    /// increasing in `i`, denser towards `now` (time ∝ (i/m)^0.7).
    fn relationship_time(&self, i: u64) -> i64 {
        let m = self.config.relationships as f64;
        let x = (i as f64 + 0.5) / m;
        self.start_us + (x.powf(0.7) * (SPAN_DAYS * DAY_US) as f64) as i64
    }

    /// Step 2: the honest relationships; returns their (author, other) ends.
    fn honest_relationships(&mut self) -> Result<Vec<(u32, u32)>, DatasetError> {
        let m = self.config.relationships;
        let mut sampler = EdgeSampler::new(self.config.seed, m);
        let mut edges = Vec::with_capacity(m as usize);
        for i in 0..m {
            let (author, other) = sampler.next(&self.population);
            edges.push((author, other));
            let created_us = self.relationship_time(i);
            let draw = RelationshipDraw::new(self.config.seed, i, created_us, self.now_us);
            let (a, b) = (self.did(author), self.did(other));
            let community = &self.community_names[self.population.community_of(author)];
            let record = draw.record(self.config.seed, i, [a.clone(), b], created_us, community);
            let uri = self.relationship_uri(&a, Tid::from_parts(created_us as u64, 0));
            self.emit(a, uri, EventBody::created(Record::from(record)))?;
            self.report.relationships += 1;
        }
        Ok(edges)
    }

    /// Step 3: the Sybil region and its attack edges; returns the internal
    /// edges (Sybil indexes from 0) with their creation times.
    fn sybil_relationships(&mut self) -> Result<Vec<(u32, u32, i64)>, DatasetError> {
        let Some(sybil) = self.config.sybil else {
            return Ok(Vec::new());
        };
        let f = sybil.fake_dids;
        let mut internal = Vec::new();
        if f <= COMPLETE_SYBIL_MAX {
            for a in 0..f {
                internal.extend((a + 1..f).map(|b| (a, b)));
            }
        } else {
            for a in 0..f {
                internal.extend((1..=SYBIL_RING_REACH).map(|d| (a, (a + d) % f)));
            }
        }
        let mut rng = SplitMix64::new(self.config.seed, u64::MAX - 1);
        let mut attacks = HashSet::with_capacity(sybil.attack_edges as usize);
        let mut attack_edges = Vec::with_capacity(sybil.attack_edges as usize);
        while attack_edges.len() < sybil.attack_edges as usize {
            let honest = rng.below(u64::from(self.config.dids)) as u32;
            let fake = rng.below(u64::from(f)) as u32;
            if attacks.insert((honest, fake)) {
                attack_edges.push((honest, fake));
            }
        }
        let count = (internal.len() + attack_edges.len()) as i64;
        let window = SYBIL_WINDOW_DAYS * DAY_US;
        let window_start = self.now_us - window;
        let time = |j: i64| window_start + ((j as f64 + 0.5) / count as f64 * window as f64) as i64;
        let honest = self.config.dids;
        let mut timed = Vec::with_capacity(internal.len());
        for (j, &(a, b)) in internal.iter().enumerate() {
            let t = time(j as i64);
            let participants = [self.did(honest + a), self.did(honest + b)];
            let at = datetime(t);
            let record = RelationshipRecord {
                relationship_type: if rng.chance(0.5) {
                    RelationshipType::Professional
                } else {
                    RelationshipType::Social
                },
                strength: Percent::MAX,
                context: "Worked together on a private project".to_owned(),
                verification: records::signed_verification(&participants, 100, 100, &at),
                privacy: public_full(),
                temporal: first_interaction(&at),
                signatures: Some(records::signatures(&mut rng, &participants)),
                created_at: at,
                extra: Map::new(),
                participants,
            };
            self.emit_sybil_relationship(record, t)?;
            self.report.sybil_relationships += 1;
            timed.push((a, b, t));
        }
        for (k, &(h, s)) in attack_edges.iter().enumerate() {
            let t = time((internal.len() + k) as i64);
            let at = datetime(t);
            let participants = [self.did(h), self.did(honest + s)];
            let record = RelationshipRecord {
                relationship_type: RelationshipType::Social,
                strength: Percent::new(rng.between(50, 80) as u8).unwrap_or_default(),
                context: "Met online".to_owned(),
                verification: records::unverified(&at),
                privacy: public_full(),
                temporal: first_interaction(&at),
                signatures: None,
                created_at: at,
                extra: Map::new(),
                participants,
            };
            self.emit_sybil_relationship(record, t)?;
            self.report.attack_edges += 1;
        }
        Ok(timed)
    }

    /// The record key of the next attestation, made at `at_us`.
    fn attestation_tid(&mut self, at_us: i64) -> Tid {
        let j = self.attestation_ordinal;
        self.attestation_ordinal += 1;
        let micros = (at_us / 1000 * 1000) as u64 + (j / 1022) % 1000;
        Tid::from_parts(micros, 2 + (j % 1022) as u16)
    }

    /// Writes attestation `record` by `attester`, made at `at_us`.
    fn emit_attestation(
        &mut self,
        attester: Did,
        record: Attestation,
        at_us: i64,
    ) -> Result<(), DatasetError> {
        let tid = self.attestation_tid(at_us);
        let uri = AtUri::from_parts(
            &attester,
            &self.collections.attestation,
            &RecordKey::from(tid),
        );
        self.emit(attester, uri, EventBody::created(Record::from(record)))
    }

    /// Step 4: attestations of honest relationships by third parties.
    fn honest_attestations(&mut self, edges: &[(u32, u32)]) -> Result<(), DatasetError> {
        let seed = self.config.seed;
        for (i, &(author, other)) in edges.iter().enumerate() {
            let i = i as u64;
            let mut plan = AttestationPlan::new(seed, i, self.config.attestation_ratio);
            if plan.count == 0 {
                continue;
            }
            let created_us = self.relationship_time(i);
            let draw = RelationshipDraw::new(seed, i, created_us, self.now_us);
            if !draw.allows_attestation() {
                continue;
            }
            let author_did = self.did(author);
            let target = self.relationship_uri(&author_did, Tid::from_parts(created_us as u64, 0));
            let community = self.population.community_of(author);
            let mut chosen: Vec<u32> = Vec::with_capacity(plan.count as usize);
            for _ in 0..plan.count {
                let Some(attester) = (0..16).find_map(|_| {
                    let rng = plan.rng();
                    let c = if rng.chance(0.8) {
                        self.population.in_community(rng, community)
                    } else {
                        self.population.anyone(rng)
                    };
                    (c != author && c != other && !chosen.contains(&c)).then_some(c)
                }) else {
                    continue;
                };
                chosen.push(attester);
                let (record, at_us) = plan.attestation(
                    &target,
                    self.did(attester),
                    draw.strength,
                    created_us,
                    self.now_us,
                );
                self.emit_attestation(self.did(attester), record, at_us)?;
                self.report.attestations += 1;
            }
        }
        Ok(())
    }

    /// Step 5: a Sybil vouches for every internal Sybil relationship.
    fn sybil_attestations(&mut self, edges: &[(u32, u32, i64)]) -> Result<(), DatasetError> {
        let (Some(sybil), honest) = (self.config.sybil, self.config.dids) else {
            return Ok(());
        };
        let f = sybil.fake_dids;
        for &(a, b, t) in edges {
            let mut c = (a.max(b) + 1) % f;
            while c == a || c == b {
                c = (c + 1) % f;
            }
            let author = self.did(honest + a);
            let target = self.relationship_uri(&author, Tid::from_parts(t as u64, 1));
            let at_us = t + (self.now_us - t) / 2;
            let attester = self.did(honest + c);
            let record = records::collusion(&target, attester.clone(), at_us);
            self.emit_attestation(attester, record, at_us)?;
            self.report.sybil_attestations += 1;
        }
        Ok(())
    }

    /// Flushes the output and gives the report.
    fn finish(mut self) -> Result<GenReport, DatasetError> {
        self.out.flush()?;
        Ok(self.report)
    }
}

/// Public visibility, full consent.
/// A relationship that started, and was last active, at `at`.
fn first_interaction(at: &rhiz_protocol::Datetime) -> Temporal {
    Temporal {
        start: at.clone(),
        last_interaction: at.clone(),
        history: None,
        extra: Map::new(),
    }
}

fn public_full() -> Privacy {
    Privacy {
        visibility: Visibility::Public,
        consent: Consent::Full,
        allow_discovery: None,
        allow_attestation: None,
        extra: Map::new(),
    }
}

/// Hashes a `u64` key with the SplitMix64 finalizer: fast, and fixed.
#[derive(Debug, Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = mix64(self.0 ^ n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Draws distinct honest pairs.
struct EdgeSampler {
    rng: SplitMix64,
    used: HashSet<u64, BuildHasherDefault<MixHasher>>,
}

impl EdgeSampler {
    fn new(seed: u64, capacity: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed, u64::MAX - 2),
            used: HashSet::with_capacity_and_hasher(
                capacity as usize,
                BuildHasherDefault::default(),
            ),
        }
    }

    /// The next new pair, as (author, other). After 32 rejected draws by
    /// fitness it draws uniformly, which the density limit keeps quick.
    fn next(&mut self, population: &Population) -> (u32, u32) {
        let rng = &mut self.rng;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (a, b) = if attempt <= 32 {
                let a = population.anyone(rng);
                let b = if rng.chance(CROSS_COMMUNITY_SHARE) {
                    population.anyone(rng)
                } else {
                    population.in_community(rng, population.community_of(a))
                };
                (a, b)
            } else {
                let n = u64::from(population.len());
                (rng.below(n) as u32, rng.below(n) as u32)
            };
            if a == b {
                continue;
            }
            let key = (u64::from(a.min(b)) << 32) | u64::from(a.max(b));
            if self.used.insert(key) {
                return if rng.chance(0.5) { (a, b) } else { (b, a) };
            }
        }
    }
}
