//! Personalized PageRank by power iteration, then the one-step distrust
//! penalty (formulas on [`TrustTable`](crate::TrustTable)).

use crate::trust::inputs::Inputs;
use crate::trust::TrustConfig;

/// The result of the propagation, by position.
#[derive(Debug)]
pub(crate) struct Propagation {
    /// `r(v)`, summing to 1 (0 everywhere when there is no seed).
    pub(crate) mass: Vec<f64>,
    /// `p(v)`, the distrust penalty.
    pub(crate) penalty: Vec<f64>,
    /// Power iterations run.
    pub(crate) iterations: u32,
    /// L1 change of the last iteration.
    pub(crate) residual: f64,
    /// Whether the residual fell below the tolerance.
    pub(crate) converged: bool,
}

impl Propagation {
    /// `m(v) = max(0, r(v) − p(v))`.
    pub(crate) fn final_mass(&self, v: usize) -> f64 {
        (self.mass[v] - self.penalty[v]).max(0.0)
    }
}

/// Runs the power iteration from `seeds` (positions, ascending, distinct).
pub(crate) fn propagate(inputs: &Inputs, seeds: &[u32], config: &TrustConfig) -> Propagation {
    let n = inputs.len();
    let mut result = Propagation {
        mass: vec![0.0; n],
        penalty: vec![0.0; n],
        iterations: 0,
        residual: 0.0,
        converged: true,
    };
    if seeds.is_empty() {
        return result;
    }
    let alpha = config.restart_probability;
    let share = 1.0 / seeds.len() as f64;
    let opinions: Vec<f64> = (0..n)
        .map(|u| inputs.trust_out[u] + inputs.distrust_out[u])
        .collect();
    // Every edge has a positive weight, so its source has O(u) > 0.
    let step: Vec<f64> = inputs
        .trust
        .iter()
        .map(|(_, u, w)| w / opinions[u as usize])
        .collect();
    // The share of u's mass that goes back to the seeds instead of along
    // a trust edge: its distrust opinions, or everything without opinions.
    let lost: Vec<f64> = (0..n)
        .map(|u| match opinions[u] {
            o if o > 0.0 => 1.0 - inputs.trust_out[u] / o,
            _ => 1.0,
        })
        .collect();
    let (sources, edges) = (&inputs.trust.source, &inputs.trust);
    let mut r = std::mem::take(&mut result.mass);
    for &s in seeds {
        r[s as usize] = share;
    }
    let mut next = vec![0.0; n];
    result.converged = false;
    while result.iterations < config.max_iterations {
        let leak: f64 = r.iter().zip(&lost).map(|(m, l)| m * l).sum();
        for (v, slot) in next.iter_mut().enumerate() {
            let received: f64 = edges
                .edges_into(v)
                .map(|e| r[sources[e] as usize] * step[e])
                .sum();
            *slot = (1.0 - alpha) * received;
        }
        let back = (alpha + (1.0 - alpha) * leak) * share;
        for &s in seeds {
            next[s as usize] += back;
        }
        result.residual = next.iter().zip(&r).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut r, &mut next);
        result.iterations += 1;
        if result.residual < config.tolerance {
            result.converged = true;
            break;
        }
    }
    for (v, u, d) in inputs.distrust.iter() {
        result.penalty[v] += (1.0 - alpha) * r[u as usize] * d / opinions[u as usize];
    }
    result.mass = r;
    result
}
