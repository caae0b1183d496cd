//! Conviction queries over HTTP (CONTRACT.md §3.1, §3.2, §3.5): XRPC
//! `getScore` and `listAttestations`, on data loaded through ingestion.

mod support;

use serde_json::{json, Value};
use support::events::{
    attestation, attestation_uri, did, relationship, relationship_deleted, relationship_uri,
};
use support::TestApp;

fn score(uri: &str) -> String {
    format!("/xrpc/net.rhiz.conviction.getScore?uri={uri}")
}

fn list(query: &str) -> String {
    format!("/api/v1/xrpc/net.rhiz.conviction.listAttestations?{query}")
}

/// An attestation `n` by `attester` of `target`, created at `at`, with
/// `confidence`.
fn attest(attester: &str, n: u64, target: &str, kind: &str, at: &str, confidence: u8) -> Value {
    let mut body = attestation(attester, n, target, kind);
    body["payload"]["created_at"] = json!(at);
    body["payload"]["confidence"] = json!(confidence);
    body
}

#[tokio::test]
async fn get_score_weighs_attestations_and_404s_only_for_unknown_records() {
    let app = TestApp::ingesting(|_| {}).await;
    let target = relationship_uri("a", 1);
    app.apply(&relationship("a", "b", 1, 80)).await;

    // Known, nothing counts: 50, count 0, every field present.
    let reply = app.call("GET", &score(&target), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["uri"], target);
    let c = &reply.body["conviction"];
    for (key, value) in [
        ("score", 50),
        ("attestationCount", 0),
        ("verifyCount", 0),
        ("disputeCount", 0),
        ("strengthenCount", 0),
        ("weakenCount", 0),
        ("topAttesterReputation", 0),
    ] {
        assert_eq!(c[key], value, "{key}");
    }
    assert_eq!(c["trend"], "stable");
    assert!(c["lastUpdated"].as_str().unwrap().ends_with('Z'));

    // Two third parties of equal standing (neither has a relationship):
    // 50 + 50 × (0.9 − 1.5 × 0.9) / (0.9 + 1.5 × 0.9) = 40.
    app.apply(&attest(
        "x",
        1,
        &target,
        "verify",
        "2026-01-02T00:00:00Z",
        90,
    ))
    .await;
    app.apply(&attest(
        "y",
        2,
        &target,
        "dispute",
        "2026-01-02T00:00:00Z",
        90,
    ))
    .await;
    app.settle_trust().await;
    let reply = app
        .call("GET", &format!("/api/v1{}", score(&target)), None)
        .await;
    let c = &reply.body["conviction"];
    assert_eq!(c["score"], 40, "{c}");
    assert_eq!(c["attestationCount"], 2);
    assert_eq!(c["verifyCount"], 1);
    assert_eq!(c["disputeCount"], 1);

    // Deleted relationship: still known through its attestations, nothing counts.
    app.apply(&relationship_deleted("a", 1)).await;
    let reply = app.call("GET", &score(&target), None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["conviction"]["score"], 50);
    assert_eq!(reply.body["conviction"]["attestationCount"], 0);

    // Unknown: 404 RecordNotFound; malformed: 400.
    let reply = app
        .call("GET", &score(&relationship_uri("a", 99)), None)
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["error"], "RecordNotFound");
    for bad in ["/xrpc/net.rhiz.conviction.getScore", &score("not-a-uri")] {
        let reply = app.call("GET", bad, None).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.body["error"], "InvalidRequest");
    }
}

/// The URIs of a listAttestations page.
fn uris(body: &Value) -> Vec<String> {
    body["attestations"]
        .as_array()
        .expect("attestations")
        .iter()
        .map(|a| a["uri"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn list_attestations_pages_newest_first_with_keyset_cursors() {
    let app = TestApp::ingesting(|_| {}).await;
    let target = relationship_uri("a", 1);
    app.apply(&relationship("a", "b", 1, 80)).await;
    let reply = app
        .call(
            "POST",
            "/api/v1/entities",
            Some(json!({"did": did("x"), "type": "person", "name": "Xavier", "handle": "x.test"})),
        )
        .await;
    assert_eq!(reply.status, 201);
    // Newest first: 4 (Jan 5), then 2 and 3 (Jan 3, URI descending), then 1.
    app.apply(&attest(
        "x",
        1,
        &target,
        "verify",
        "2026-01-01T00:00:00Z",
        100,
    ))
    .await;
    app.apply(&attest(
        "y",
        2,
        &target,
        "dispute",
        "2026-01-03T00:00:00Z",
        60,
    ))
    .await;
    app.apply(&attest(
        "z",
        3,
        &target,
        "verify",
        "2026-01-03T00:00:00Z",
        80,
    ))
    .await;
    app.apply(&attest(
        "x",
        4,
        &target,
        "strengthen",
        "2026-01-05T00:00:00.000123Z",
        90,
    ))
    .await;
    let expected = [
        attestation_uri("x", 4),
        attestation_uri("z", 3),
        attestation_uri("y", 2),
        attestation_uri("x", 1),
    ];
    app.settle_trust().await;

    let reply = app.call("GET", &list(&format!("uri={target}")), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(uris(&reply.body), expected);
    assert!(reply.body.get("cursor").is_none());
    let first = &reply.body["attestations"][0];
    assert_eq!(first["cid"], support::events::CID);
    assert_eq!(
        first["record"]["$type"],
        "net.rhiz.relationship.attestation"
    );
    assert_eq!(first["record"]["attestationType"], "strengthen");
    assert_eq!(first["record"]["targetRelationship"], target);
    assert_eq!(first["attester"]["did"], did("x"));
    assert_eq!(first["attester"]["name"], "Xavier");
    assert_eq!(first["attester"]["displayName"], "Xavier");
    assert_eq!(first["attester"]["type"], "person");
    assert_eq!(first["attester"]["entityType"], "person");
    assert_eq!(first["attester"]["handle"], "x.test");
    assert!(first["attesterReputation"].is_u64());
    assert_eq!(
        reply.body["attestations"][1]["attester"],
        json!({"did": did("z"), "handle": "handle.invalid"})
    );

    // One item per page, through the tie on Jan 3, without repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("uri={target}&limit=1&cursor={c}"),
            None => format!("uri={target}&limit=1"),
        };
        let reply = app.call("GET", &list(&query), None).await;
        assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
        seen.extend(uris(&reply.body));
        match reply.body.get("cursor") {
            Some(next) => cursor = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
        assert!(seen.len() <= expected.len(), "{seen:?}");
    }
    assert_eq!(seen, expected);

    // Filters, a bare timestamp cursor.
    let reply = app
        .call("GET", &list(&format!("uri={target}&type=verify")), None)
        .await;
    assert_eq!(
        uris(&reply.body),
        [attestation_uri("z", 3), attestation_uri("x", 1)]
    );
    let reply = app
        .call(
            "GET",
            &list(&format!("uri={target}&minConfidence=90")),
            None,
        )
        .await;
    assert_eq!(
        uris(&reply.body),
        [attestation_uri("x", 4), attestation_uri("x", 1)]
    );
    let reply = app
        .call(
            "GET",
            &list(&format!("uri={target}&cursor=2026-01-03T00:00:00Z")),
            None,
        )
        .await;
    assert_eq!(uris(&reply.body), [attestation_uri("x", 1)]);

    for query in [
        String::new(),
        format!("uri={target}&type=like"),
        format!("uri={target}&limit=0"),
        format!("uri={target}&limit=101"),
        format!("uri={target}&minConfidence=101"),
        format!("uri={target}&cursor=yesterday"),
    ] {
        let reply = app.call("GET", &list(&query), None).await;
        assert_eq!(reply.status, 400, "{query}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "InvalidRequest");
    }
}
