//! The Redis Streams log and the apply lease against a real Redis, given by
//! `RHIZ_TEST_REDIS_URL`: the `EventLog` contract, trimming, claiming a dead
//! consumer's entries, fencing and lease takeover between two pipelines.

#[path = "../common/mod.rs"]
mod common;
#[path = "../contract/mod.rs"]
mod contract;
mod lease;
mod streams;
mod support;

contract_tests!(support::Redis::new("contract"));
