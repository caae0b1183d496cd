use std::time::Duration;

use crate::EventsError;

/// How a [`Pipeline`](crate::Pipeline) schedules, limits and retries.
///
/// Start from [`PipelineConfig::default`] and change what you need; the
/// builder validates the result and names the first field at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Concurrent applies. Default: the number of CPUs.
    pub workers: usize,
    /// Most events accepted and not yet applied, all lanes. Default 10,000.
    pub capacity: usize,
    /// Most events accepted and not yet applied in one lane. Default 2,500.
    pub lane_capacity: usize,
    /// Share of `capacity` above which new events are refused, in (0, 1].
    /// Default 0.8.
    pub high_water: f64,
    /// Scheduling weights of the lanes, indexed by
    /// [`Lane::index`](crate::Lane::index): when every lane has work, each
    /// lane gets this share of the applies. Default 8, 4, 2, 1.
    pub lane_weights: [u32; 4],
    /// Attempts before an event goes to the dead letters (the first one
    /// included). Default 3.
    pub max_attempts: u32,
    /// Backoff ceiling after the first failure; it doubles with each further
    /// failure. The actual delay is drawn uniformly between zero and the
    /// ceiling (full jitter). Default 2 s.
    pub backoff_base: Duration,
    /// Largest backoff ceiling. Default 60 s.
    pub backoff_max: Duration,
    /// Smallest `retry_after` told to a refused producer. Default 100 ms.
    pub retry_after_min: Duration,
    /// Largest `retry_after` told to a refused producer. Default 30 s.
    pub retry_after_max: Duration,
    /// Seed of the jitter random number generator, for reproducible tests.
    /// Default: none (seeded from the operating system).
    pub jitter_seed: Option<u64>,
    /// Most ready events a worker hands to [`Handler::apply_batch`](crate::Handler::apply_batch)
    /// at once (events of different keys; each key still one at a time).
    /// Default 1: one event per call.
    pub apply_batch_max: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            capacity: 10_000,
            lane_capacity: 2_500,
            high_water: 0.8,
            lane_weights: [8, 4, 2, 1],
            max_attempts: 3,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            retry_after_min: Duration::from_millis(100),
            retry_after_max: Duration::from_secs(30),
            jitter_seed: None,
            apply_batch_max: 1,
        }
    }
}

impl PipelineConfig {
    /// Checks every field; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), EventsError> {
        fn invalid(field: &'static str, reason: &str) -> Result<(), EventsError> {
            Err(EventsError::Config {
                field,
                reason: reason.to_owned(),
            })
        }
        if self.workers == 0 {
            return invalid("workers", "must be at least 1");
        }
        if self.capacity == 0 {
            return invalid("capacity", "must be at least 1");
        }
        if self.lane_capacity == 0 || self.lane_capacity > self.capacity {
            return invalid("lane_capacity", "must be between 1 and `capacity`");
        }
        if !(self.high_water > 0.0 && self.high_water <= 1.0) {
            return invalid("high_water", "must be in (0, 1]");
        }
        if self.high_water_mark() == 0 {
            return invalid("high_water", "leaves no room: capacity × high_water < 1");
        }
        if self.lane_weights.contains(&0) {
            return invalid(
                "lane_weights",
                "must all be at least 1, or a lane would starve",
            );
        }
        if self.apply_batch_max == 0 {
            return invalid("apply_batch_max", "must be at least 1");
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts", "must be at least 1");
        }
        if self.backoff_max < self.backoff_base {
            return invalid("backoff_max", "must not be below `backoff_base`");
        }
        if self.retry_after_max < self.retry_after_min {
            return invalid("retry_after_max", "must not be below `retry_after_min`");
        }
        Ok(())
    }

    /// Events accepted and not yet applied at which new ones are refused.
    pub fn high_water_mark(&self) -> usize {
        (self.capacity as f64 * self.high_water).floor() as usize
    }

    /// The backoff ceiling after `failures` failed attempts (1 for the first):
    /// `backoff_base × 2^(failures−1)`, at most `backoff_max`.
    pub fn backoff_ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.backoff_base
            .saturating_mul(1 << doublings)
            .min(self.backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(config: PipelineConfig) -> &'static str {
        match config.validate() {
            Err(EventsError::Config { field, .. }) => field,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn default_is_valid_and_matches_the_contract() {
        let c = PipelineConfig::default();
        c.validate().unwrap();
        assert_eq!(c.high_water_mark(), 8_000);
        assert_eq!(c.backoff_ceiling(1), Duration::from_secs(2));
        assert_eq!(c.backoff_ceiling(2), Duration::from_secs(4));
        assert_eq!(c.backoff_ceiling(3), Duration::from_secs(8));
        assert_eq!(c.backoff_ceiling(40), Duration::from_secs(60));
    }

    #[test]
    fn errors_name_the_field() {
        let d = PipelineConfig::default;
        assert_eq!(field_of(PipelineConfig { workers: 0, ..d() }), "workers");
        assert_eq!(field_of(PipelineConfig { capacity: 0, ..d() }), "capacity");
        assert_eq!(
            field_of(PipelineConfig {
                lane_capacity: 20_000,
                ..d()
            }),
            "lane_capacity"
        );
        assert_eq!(
            field_of(PipelineConfig {
                high_water: 1.5,
                ..d()
            }),
            "high_water"
        );
        assert_eq!(
            field_of(PipelineConfig {
                high_water: f64::NAN,
                ..d()
            }),
            "high_water"
        );
        assert_eq!(
            field_of(PipelineConfig {
                lane_weights: [1, 1, 0, 1],
                ..d()
            }),
            "lane_weights"
        );
        assert_eq!(
            field_of(PipelineConfig {
                max_attempts: 0,
                ..d()
            }),
            "max_attempts"
        );
        assert_eq!(
            field_of(PipelineConfig {
                backoff_max: Duration::from_millis(1),
                ..d()
            }),
            "backoff_max"
        );
        assert_eq!(
            field_of(PipelineConfig {
                retry_after_max: Duration::ZERO,
                ..d()
            }),
            "retry_after_max"
        );
    }
}
