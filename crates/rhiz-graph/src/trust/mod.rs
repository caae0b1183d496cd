//! Trust metrics per DID (PROTOCOL.md "Trust metrics"): `reputation`,
//! `reciprocity`, `consistency`, `trustScore`, `relationshipCount`,
//! `verifiedRelationshipCount`, computed all at once into a [`TrustTable`]
//! by [`Graph::compute_trust`]. Pure and deterministic: "now" and the seed
//! DIDs are arguments; the same graph gives the same table, bit for bit,
//! whatever order its records arrived in.
//!
//! The formulas, privacy rule and determinism are in `docs/trust.md`,
//! rendered on [`TrustTable`].

mod inputs;
mod propagation;
mod scores;
mod table;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use rhiz_protocol::Did;

use crate::{Graph, GraphError};
pub use table::{Explanation, SeedSource, TrustMetrics, TrustSnapshot, TrustTable};

/// The relationship type that expresses distrust (see the formulas above).
pub const DISTRUST_TYPE: &str = "distrust";

/// Parameters of [`Graph::compute_trust_with`]; [`TrustConfig::default`] is
/// what [`Graph::compute_trust`] uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrustConfig {
    /// α, the probability of restarting at a seed at each step, in (0, 1].
    /// Default 0.15. Higher is more Sybil-resistant and more seed-centred.
    pub restart_probability: f64,
    /// Stop when the L1 change of one iteration is below this (> 0).
    /// Default 10⁻⁹; the L1 error is then below `tolerance·(1 − α)/α`.
    pub tolerance: f64,
    /// Stop after this many iterations even when not converged (≥ 1).
    /// Default 200 (0.85²⁰⁰ ≈ 10⁻¹⁴).
    pub max_iterations: u32,
    /// How many DIDs the fallback seeds (≥ 1). Default 10.
    pub fallback_seed_count: usize,
}

impl Default for TrustConfig {
    fn default() -> Self {
        Self {
            restart_probability: 0.15,
            tolerance: 1e-9,
            max_iterations: 200,
            fallback_seed_count: 10,
        }
    }
}

impl TrustConfig {
    fn check(&self) -> Result<(), GraphError> {
        // Written so that NaN fails every range.
        let broken = if !(0.0..=1.0).contains(&self.restart_probability)
            || self.restart_probability == 0.0
        {
            "restart_probability must be in (0, 1]"
        } else if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            "tolerance must be positive"
        } else if self.max_iterations == 0 {
            "max_iterations must be at least 1"
        } else if self.fallback_seed_count == 0 {
            "fallback_seed_count must be at least 1"
        } else {
            return Ok(());
        };
        Err(GraphError::TrustConfig(broken))
    }
}

impl Graph {
    /// The trust metrics of every DID the graph knows, as of `now`, seeded
    /// by `seeds`, with [`TrustConfig::default`]. See the
    /// [`TrustTable`] docs for the formulas.
    pub fn compute_trust(&self, seeds: &[Did], now: DateTime<Utc>) -> TrustTable {
        table::compute(self, seeds, now, TrustConfig::default())
    }

    /// [`Graph::compute_trust`] with other parameters.
    ///
    /// # Errors
    ///
    /// [`GraphError::TrustConfig`] when a parameter is out of range.
    pub fn compute_trust_with(
        &self,
        seeds: &[Did],
        now: DateTime<Utc>,
        config: TrustConfig,
    ) -> Result<TrustTable, GraphError> {
        config.check()?;
        Ok(table::compute(self, seeds, now, config))
    }

    /// The inputs of [`Graph::compute_trust`], copied out of the graph, to
    /// [`TrustSnapshot::compute`] without holding it: the propagation,
    /// most of the cost, then needs no lock on the graph.
    pub fn trust_snapshot(&self, seeds: &[Did], now: DateTime<Utc>) -> TrustSnapshot {
        TrustSnapshot::read(self, seeds, now, TrustConfig::default())
    }

    /// Sets every DID's attester reputation ([`Graph::set_reputation`]) to
    /// its `reputation` in `table`, so conviction weighs attesters by the
    /// computed standing. DIDs the graph does not know are skipped; DIDs
    /// the table does not know (new since) keep theirs. Returns how many
    /// were set.
    pub fn apply_reputations(&mut self, table: &TrustTable) -> usize {
        let mut applied = 0;
        for (did, metrics) in table.iter() {
            if let Some(id) = self.names.find_did(did) {
                self.reputation[id.index()] = metrics.reputation;
                applied += 1;
            }
        }
        applied
    }
}
