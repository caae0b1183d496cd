//! Trust metrics over HTTP (CONTRACT.md §2.9–§2.11, PROTOCOL.md "Trust
//! metrics"): REST analytics as fractions, XRPC `net.rhiz.trust.*` as
//! integers, served from the background table.

mod support;

use serde_json::{json, Value};
use support::events::{
    attestation, did, profile_updated, relationship, relationship_record, relationship_uri, CID,
};
use support::TestApp;

/// A last interaction after any test run: recency 1, and recent.
const FUTURE: &str = "2099-01-01T00:00:00Z";

/// `a` and `b` with reciprocal records (80 each, mutual), `a` → `c` (60,
/// one-sided) verified by a third party `x`; every interaction current.
///
/// Hand-computed own figures: `a` has 3 relationships, reciprocity
/// round(100 × 160/220) = 73, consistency 100 (recency 1, no history),
/// 1 verified (conviction 100 ≥ 70); `c` has 1, reciprocity 0.
async fn trust_app(seeds: &[&str]) -> TestApp {
    let seeds: Vec<_> = seeds.iter().map(|s| did(s).parse().unwrap()).collect();
    let app = TestApp::ingesting(|c| c.trust_seeds = seeds).await;
    for body in [
        relationship_record("a", "b", 1, 80, "personal", "public", FUTURE),
        relationship_record("b", "a", 2, 80, "personal", "public", FUTURE),
        relationship_record("a", "c", 3, 60, "professional", "public", FUTURE),
        attestation("x", 1, &relationship_uri("a", 3), "verify"),
    ] {
        app.apply(&body).await;
    }
    app.settle_trust().await;
    app
}

fn fraction(value: &Value) -> f64 {
    let f = value.as_f64().expect("a number");
    assert!((0.0..=1.0).contains(&f), "{f}");
    f
}

#[tokio::test]
async fn trust_metrics_are_fractions_of_the_hand_computed_figures() {
    let app = trust_app(&["a"]).await;
    let reply = app
        .call("GET", "/api/v1/analytics/trust-metrics/did:plc:a", None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let m = &reply.body;
    assert_eq!(m["entity_id"], did("a"));
    assert_eq!(m["relationship_count"], 3);
    assert_eq!(m["verified_relationship_count"], 1);
    assert_eq!(m["reciprocity"], 0.73);
    assert_eq!(m["consistency"], 1.0);
    assert_eq!(m["seed_source"], "configured");
    assert!(m["last_calculated"].as_str().unwrap().ends_with('Z'));
    // trustScore = round(reputation · (0.4 + 0.2·0.73 + 0.2·1 + 0.2·1/3)).
    let reputation = (fraction(&m["reputation"]) * 100.0).round();
    let expected = (reputation * (0.4 + 0.2 * 0.73 + 0.2 + 0.2 / 3.0)).round() / 100.0;
    assert_eq!(fraction(&m["trust_score"]), expected);
    assert!(reputation > 0.0, "the seed has standing: {m}");

    let c = app
        .call("GET", "/api/v1/analytics/trust-metrics/did:plc:c", None)
        .await;
    assert_eq!(c.body["relationship_count"], 1);
    assert_eq!(c.body["reciprocity"], 0.0);

    // The XRPC getter serves the same table as integers.
    let x = app
        .call("GET", "/xrpc/net.rhiz.trust.getMetrics?did=did:plc:a", None)
        .await;
    assert_eq!(x.status, 200, "{:?}", x.body);
    assert_eq!(x.body["entityDid"], did("a"));
    assert_eq!(x.body["reciprocity"], 73);
    assert_eq!(x.body["consistency"], 100);
    assert_eq!(x.body["relationshipCount"], 3);
    assert_eq!(x.body["verifiedRelationshipCount"], 1);
    assert_eq!(x.body["reputation"].as_f64().unwrap(), reputation);
    assert_eq!(x.body["lastCalculated"], m["last_calculated"]);
    assert_eq!(x.body["seedSource"], "configured");
    assert!(x.body.get("explanation").is_none());
}

#[tokio::test]
async fn explanations_carry_the_inputs_and_batches_report_unknown_dids() {
    let app = trust_app(&["a"]).await;
    let reply = app
        .call(
            "GET",
            "/api/v1/xrpc/net.rhiz.trust.getMetrics?did=did:plc:a&explain=true",
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let why = &reply.body["explanation"];
    assert_eq!(why["seeds"], json!([did("a")]));
    assert_eq!(why["seedSource"], "configured");
    assert_eq!(why["mutualStrength"], 160);
    assert_eq!(why["totalStrength"], 220);
    assert!(
        (why["meanRecency"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{why}"
    );
    assert_eq!(why["trustedBy"], 1, "b endorses its record with a: {why}");
    assert!(why["converged"].as_bool().unwrap());

    let reply = app
        .call(
            "GET",
            "/xrpc/net.rhiz.trust.getMetricsBatch?dids=did:plc:c&dids[]=did:plc:nobody&dids=did:plc:a&dids=did:plc:c",
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let order: Vec<&Value> = reply.body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["entityDid"])
        .collect();
    assert_eq!(order, [&json!(did("c")), &json!(did("a"))]);
    assert_eq!(reply.body["notFound"], json!([did("nobody")]));

    let many: String = (0..101).map(|i| format!("dids=did:plc:d{i}&")).collect();
    for query in [
        many.as_str(),
        "",
        "dids=alice",
        "dids=did:plc:a&explain=maybe",
    ] {
        let reply = app
            .call(
                "GET",
                &format!("/xrpc/net.rhiz.trust.getMetricsBatch?{query}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 400, "{query}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "InvalidRequest");
    }
    let hundred: String = (0..100).map(|i| format!("dids=did:plc:d{i}&")).collect();
    let reply = app
        .call(
            "GET",
            &format!("/xrpc/net.rhiz.trust.getMetricsBatch?{hundred}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["notFound"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn trust_health_applies_the_level_and_recommendation_rules() {
    let app = trust_app(&["a"]).await;
    // An older relationship: not recent activity.
    app.apply(&relationship("a", "d", 4, 70)).await;
    app.settle_trust().await;
    let reply = app
        .call("GET", "/api/v1/analytics/trust-health/did:plc:a", None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let h = &reply.body;
    assert_eq!(h["entity_id"], did("a"));
    assert_eq!(h["network_size"], 4);
    assert_eq!(h["verified_ratio"], 0.25);
    assert_eq!(h["recent_activity"], 3);
    let score = fraction(&h["trust_score"]);
    let level = match score {
        s if s >= 0.9 => "very_high",
        s if s >= 0.75 => "high",
        s if s >= 0.5 => "medium",
        s if s >= 0.25 => "low",
        _ => "very_low",
    };
    assert_eq!(h["trust_level"], level);
    // Fewer than 5 verified, fewer than 10 relationships; reciprocity is
    // now round(100 × 160/290) = 55 < 70; consistency stays ≥ 60
    // (three relationships at 1, one at ≥ 0.5).
    assert_eq!(h["recommendations"].as_array().unwrap().len(), 3, "{h}");
}

#[tokio::test]
async fn unknown_dids_are_404_and_entities_without_relationships_are_zero() {
    let app = trust_app(&[]).await;
    for route in ["trust-metrics", "trust-health"] {
        for who in ["did:plc:nobody", "not-a-did", "did:plc:x"] {
            let reply = app
                .call("GET", &format!("/api/v1/analytics/{route}/{who}"), None)
                .await;
            assert_eq!(reply.status, 404, "{route} {who}: {:?}", reply.body);
            assert!(reply.body["detail"].is_string());
        }
    }
    let reply = app
        .call(
            "GET",
            "/xrpc/net.rhiz.trust.getMetrics?did=did:plc:nobody",
            None,
        )
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["error"], "NotFound");
    let reply = app
        .call("GET", "/xrpc/net.rhiz.trust.getMetrics?did=nobody", None)
        .await;
    assert_eq!(reply.status, 400);

    let reply = app
        .call(
            "POST",
            "/api/v1/entities",
            Some(json!({"did": did("loner"), "type": "person", "name": "Loner"})),
        )
        .await;
    assert_eq!(reply.status, 201);
    let reply = app
        .call("GET", "/api/v1/analytics/trust-health/did:plc:loner", None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["trust_level"], "very_low");
    assert_eq!(reply.body["network_size"], 0);
    assert_eq!(reply.body["verified_ratio"], 0.0);
    assert_eq!(reply.body["recommendations"].as_array().unwrap().len(), 4);

    // Without configured seeds the fallback applies, and says so.
    let reply = app
        .call("GET", "/api/v1/analytics/trust-metrics/did:plc:a", None)
        .await;
    assert_eq!(reply.body["seed_source"], "fallback");
}

#[tokio::test]
async fn network_stats_count_every_entity_at_once() {
    let app = trust_app(&["a"]).await;
    const STATS: &str = "/api/v1/analytics/network-stats";
    let stats = || async {
        let body = app.get_ok(STATS).await;
        (
            body["total_entities"].as_u64().unwrap(),
            body["verified_entities"].as_u64().unwrap(),
        )
    };
    assert_eq!(stats().await, (3, 0));
    // a–b twice (80, 80), a–c (60) attested by x: the graph's own figures.
    let body = &app.get_ok(STATS).await;
    assert_eq!(body["total_attestations"], 1);
    assert_eq!(body["counting_attestations"], 1);
    assert_eq!(body["connected_components"], 1);
    assert_eq!(body["largest_component"], 3);
    assert_eq!(
        body["degree_distribution"],
        json!([{"min": 1, "max": 1, "count": 1}, {"min": 2, "max": 3, "count": 2}])
    );
    assert_eq!(
        body["strength_histogram"],
        json!([0, 0, 0, 0, 0, 0, 1, 0, 2, 0])
    );
    // A participant's entity is the same DID; a loner's is one more.
    for who in ["a", "loner"] {
        let body = json!({"did": did(who), "type": "person", "name": who});
        let reply = app.call("POST", "/api/v1/entities", Some(body)).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    assert_eq!(stats().await, (4, 0));
    // A profile applied through the pipeline counts as soon as it is applied.
    app.apply(&profile_updated(&did("hermit"), "Hermit", CID))
        .await;
    assert_eq!(stats().await, (5, 0));
    let reply = app
        .call("DELETE", "/api/v1/entities/did:plc:loner", None)
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_eq!(stats().await, (4, 0));
}

#[tokio::test]
async fn new_relationships_reach_the_metrics_and_the_network_stats() {
    let app = trust_app(&["a"]).await;
    let before = app
        .call("GET", "/api/v1/analytics/network-stats", None)
        .await;
    assert_eq!(before.status, 200);
    assert_eq!(before.body["total_relationships"], 3);
    assert_eq!(before.body["total_entities"], 3);
    let mut sum = 0.0;
    for who in ["a", "b", "c"] {
        let reply = app
            .call(
                "GET",
                &format!("/api/v1/analytics/trust-metrics/did:plc:{who}"),
                None,
            )
            .await;
        sum += fraction(&reply.body["trust_score"]);
    }
    let avg = fraction(&before.body["avg_trust_score"]);
    assert!((avg - sum / 3.0).abs() < 1e-9, "{avg} vs {}", sum / 3.0);

    // A DID the table has not seen yet is computed on demand.
    app.apply(&relationship("c", "e", 5, 70)).await;
    let reply = app
        .call("GET", "/api/v1/analytics/trust-metrics/did:plc:e", None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["relationship_count"], 1);
    assert!(reply.body["last_calculated"].as_str() >= before.body["last_calculated"].as_str());
    app.eventually("the stats to count e", || async {
        let now = app
            .call("GET", "/api/v1/analytics/network-stats", None)
            .await;
        now.body["total_entities"] == 4 && now.body["total_relationships"] == 4
    })
    .await;
}
