//! Tests against a real Redis, given by `RHIZ_TEST_REDIS_URL`.

mod compute;
mod instances;
mod outage;
mod support;
mod tiers;
