//! Internal ingestion over HTTP (CONTRACT.md §4): authentication, the check
//! order, apply into store and graph, idempotency, batches, backpressure,
//! dead letters, per-record order, and the direct attestation route.

mod support;

use axum::body::Body;
use axum::http::Request;
use rhiz_protocol::{AtUri, Did};
use serde_json::{json, Value};
use support::events::{self, did, relationship, relationship_uri, KEY};
use support::TestApp;

async fn relationship_stored(app: &TestApp, uri: &str) -> bool {
    let uri: AtUri = uri.parse().unwrap();
    app.state
        .store
        .get_relationship(&uri)
        .await
        .unwrap()
        .is_some()
}

/// Ingests `body` and waits until the relationship at `uri` is stored.
async fn ingest_and_wait(app: &TestApp, body: &Value, uri: &str) {
    let reply = app.post_internal("/internal/events", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    app.eventually("the relationship applied", || relationship_stored(app, uri))
        .await;
}

/// Waits until the dead-letter queue holds `n` events.
async fn wait_for_dead_letters(app: &TestApp, n: u64) {
    app.eventually("the dead letters", || async {
        app.call_internal("GET", "/internal/events/dead-letter")
            .await
            .body["count"]
            == n
    })
    .await;
}

#[tokio::test]
async fn ingestion_is_closed_without_a_configured_key_and_403_on_a_wrong_one() {
    let closed = TestApp::sqlite().await;
    let reply = closed
        .post_internal("/internal/events", &relationship("alice", "bob", 1, 80))
        .await;
    assert_eq!(reply.status, 403);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("internal_api_key"));

    let app = TestApp::ingesting(|_| {}).await;
    let request = Request::post("/internal/events")
        .header("content-type", "application/json")
        .header("x-internal-key", "wrong-key-0123456789")
        .body(Body::from(relationship("alice", "bob", 1, 80).to_string()))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);

    // Rotation: a second configured key works as well as the first.
    let rotated = TestApp::with_config(|c| {
        c.internal_api_key = vec!["previous-key-0123456789".into(), KEY.into()];
    })
    .await;
    let reply = rotated
        .post_internal("/internal/events", &relationship("alice", "bob", 1, 80))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

#[tokio::test]
async fn shape_errors_come_before_the_key_and_rules_after_it() {
    let app = TestApp::ingesting(|_| {}).await;
    // No header and a missing field: one 422 listing both.
    let request = Request::post("/internal/events")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"event_type": "trust.invalidated", "did": did("a")}).to_string(),
        ))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, 422);
    let locs: Vec<&Value> = reply.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["loc"])
        .collect();
    assert!(
        locs.contains(&&json!(["header", "x-internal-key"])),
        "{locs:?}"
    );
    assert!(locs.contains(&&json!(["body", "payload"])), "{locs:?}");

    // Shape before key: a wrong key with a wrong type is still a 422.
    let request = Request::post("/internal/events")
        .header("content-type", "application/json")
        .header("x-internal-key", "wrong-key-0123456789")
        .body(Body::from(json!({"event_type": "trust.invalidated", "did": did("a"), "payload": {}, "priority": "x"}).to_string()))
        .unwrap();
    assert_eq!(app.send(request).await.status, 422);

    // Rules: 400 naming the field.
    for (body, field) in [
        (
            json!({"event_type": "relationship.exploded", "did": did("a"), "payload": {}}),
            "event_type",
        ),
        (
            json!({"event_type": "trust.invalidated", "did": did("a"), "payload": {}, "priority": 9}),
            "priority",
        ),
        (
            events::relationship("alice", "alice", 1, 80),
            "payload.participants",
        ),
        (
            events::relationship("alice", "bob", 1, 101),
            "payload.strength",
        ),
    ] {
        let reply = app.post_internal("/internal/events", &body).await;
        assert_eq!(reply.status, 400, "{body}: {:?}", reply.body);
        assert!(
            reply.body["detail"].as_str().unwrap().starts_with(field),
            "{:?}",
            reply.body
        );
    }
}

#[tokio::test]
async fn an_accepted_event_is_applied_to_store_and_graph_once() {
    let app = TestApp::ingesting(|_| {}).await;
    let mut body = relationship("alice", "bob", 1, 80);
    body["event_id"] = json!("rel-1");
    let reply = app.post_internal("/internal/events", &body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.body,
        json!({"status": "enqueued", "event_id": "rel-1"})
    );

    let uri = relationship_uri("alice", 1);
    app.eventually("the relationship in the store", || {
        relationship_stored(&app, &uri)
    })
    .await;
    // Apply writes the store, then the graph.
    app.eventually("the relationship in the graph", || async {
        app.state.graph.read().relationship_count() == 1
    })
    .await;
    let alice: Did = did("alice").parse().unwrap();
    assert!(app.state.graph.read().did_id(&alice).is_some());

    // The same id again: a duplicate, not applied twice.
    let reply = app.post_internal("/internal/events", &body).await;
    assert_eq!(
        reply.body,
        json!({"status": "duplicate", "event_id": "rel-1"})
    );
    // Another id with the same (URI, CID): accepted, applied as a no-op.
    body["event_id"] = json!("rel-1-again");
    assert_eq!(
        app.post_internal("/internal/events", &body).await.status,
        200
    );
    let changes_before = app.state.changes.last_seq();
    app.eventually("the repeat to be settled", || async {
        app.state.pipeline.metrics().events_in_queue == 0
    })
    .await;
    assert_eq!(app.state.changes.last_seq(), changes_before);
    assert_eq!(app.state.graph.read().relationship_count(), 1);

    // A delete of an unknown record is a no-op, not a failure.
    let reply = app
        .post_internal(
            "/internal/events",
            &events::relationship_deleted("alice", 99),
        )
        .await;
    assert_eq!(reply.status, 200);
    app.eventually("the delete to be settled", || async {
        app.state.pipeline.metrics().events_in_queue == 0
    })
    .await;
    assert_eq!(app.state.pipeline.metrics().total.dead_lettered, 0);
}

#[tokio::test]
async fn batches_accept_json_arrays_and_ndjson_with_per_item_results() {
    let app = TestApp::ingesting(|c| c.ingest_batch_max = 5).await;
    let batch = json!([
        relationship("alice", "bob", 1, 80),
        {"event_type": "nope", "did": did("a"), "payload": {}},
        {"did": did("a"), "payload": {}},
        relationship("bob", "carol", 2, 70),
    ]);
    let reply = app.post_internal("/internal/events/batch", &batch).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["enqueued"], 2);
    assert_eq!(reply.body["invalid"], 2);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "enqueued");
    assert_eq!(results[1]["http_status"], 400);
    assert_eq!(results[1]["error"]["field"], "event_type");
    assert_eq!(results[2]["http_status"], 422);
    assert_eq!(results[2]["error"]["field"], "event_type");

    let ndjson = format!(
        "{}\n\n{}\nnot json\n",
        relationship("carol", "dave", 3, 60),
        relationship("dave", "erin", 4, 90)
    );
    let request = Request::post("/internal/events/batch")
        .header("content-type", "application/x-ndjson")
        .header("x-internal-key", KEY)
        .body(Body::from(ndjson))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["enqueued"], 2);
    assert_eq!(reply.body["results"][2]["http_status"], 422);

    let too_many = Value::Array((0..6).map(|n| relationship("x", "y", n, 50)).collect());
    let reply = app.post_internal("/internal/events/batch", &too_many).await;
    assert_eq!(reply.status, 413);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("ingest_batch_max"));

    for n in 1..=4 {
        let author = ["alice", "bob", "carol", "dave"][n as usize - 1];
        let uri = relationship_uri(author, n);
        app.eventually("batch items applied", || relationship_stored(&app, &uri))
            .await;
    }
}

#[tokio::test]
async fn backpressure_refuses_with_retry_after_and_applies_everything_accepted() {
    // Capacity 10 refuses at 8 queued: a batch of 30 is cut at the mark.
    let app = TestApp::ingesting(|c| {
        c.event_queue_capacity = 10;
        c.event_lane_capacity = 10;
        c.ingest_batch_max = 100;
    })
    .await;
    let batch = Value::Array(
        (0..30)
            .map(|n| relationship("alice", &format!("p{n}"), n, 50))
            .collect(),
    );
    let reply = app.post_internal("/internal/events/batch", &batch).await;
    let enqueued = reply.body["enqueued"].as_u64().unwrap();
    let refused = reply.body["refused"].as_u64().unwrap();
    assert!(enqueued >= 8 && refused > 0, "{:?}", reply.body);
    assert_eq!(enqueued + refused, 30);
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    // Refused items come last, so a producer can resend the tail in order.
    let statuses: Vec<&str> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    let first_refused = statuses.iter().position(|s| *s == "refused").unwrap();
    assert!(statuses[first_refused..].iter().all(|s| *s == "refused"));

    // Everything accepted is applied; nothing refused is.
    for n in 0..30u64 {
        let uri = relationship_uri("alice", n);
        if (n as usize) < first_refused {
            app.eventually("accepted events applied", || {
                relationship_stored(&app, &uri)
            })
            .await;
        } else {
            assert!(!relationship_stored(&app, &uri).await);
        }
    }
    let metrics = app.call_internal("GET", "/internal/events/metrics").await;
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.body["backpressure_active"], true);
    assert_eq!(metrics.body["totals"]["refused"], refused);
}

/// Checks a dead attestation's §4.5 stages: validation passed, then
/// `attempts` failed attempts at applying it, with their errors, at growing
/// times.
fn assert_failed_stages(letter: &Value, attempts: usize) {
    let stages = letter["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 1 + attempts, "{letter}");
    assert_eq!(stages[0]["stage"], "validation");
    assert_eq!(stages[0]["success"], true);
    assert_eq!(stages[0]["error"], Value::Null);
    for failed in &stages[1..] {
        assert_eq!(failed["stage"], "attestation_processing");
        assert_eq!(failed["success"], false);
        let error = failed["error"].as_str().unwrap();
        assert!(error.contains("do not allow attestations"), "{letter}");
    }
    assert_eq!(stages.last().unwrap()["error"], letter["error"]);
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = stages
        .iter()
        .map(|s| chrono::DateTime::parse_from_rfc3339(s["timestamp"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        times[0],
        chrono::DateTime::parse_from_rfc3339(letter["timestamp"].as_str().unwrap()).unwrap()
    );
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{letter}");
    assert!(times[1..].windows(2).all(|w| w[0] < w[1]), "{letter}");
}

#[tokio::test]
async fn a_rule_broken_at_apply_is_dead_lettered_and_replayed_once_fixed() {
    let app = TestApp::ingesting(|_| {}).await;
    // A relationship closed to attestations, then an attestation of it
    // arriving through ingestion (as from the firehose).
    let target = relationship_uri("alice", 1);
    ingest_and_wait(
        &app,
        &events::closed_relationship("alice", "bob", 1),
        &target,
    )
    .await;
    let mut poison = events::attestation("carol", 1, &target, "verify");
    poison["event_id"] = json!("poison-1");
    assert_eq!(
        app.post_internal("/internal/events", &poison).await.status,
        200
    );

    wait_for_dead_letters(&app, 1).await;
    let listed = app
        .call_internal("GET", "/internal/events/dead-letter")
        .await;
    let letter = &listed.body["events"][0];
    assert_eq!(letter["event_id"], "poison-1");
    assert_eq!(letter["event_type"], "attestation.created");
    assert_eq!(letter["did"], did("carol"));
    assert!(
        letter["error"]
            .as_str()
            .unwrap()
            .contains("do not allow attestations"),
        "{letter}"
    );
    assert_failed_stages(letter, 1);
    let inspected = app
        .call_internal("GET", "/internal/events/dead-letter/poison-1")
        .await;
    assert_eq!(inspected.body["event_id"], "poison-1");
    assert_eq!(inspected.body["stages"], letter["stages"]);
    assert_eq!(
        app.call_internal("GET", "/internal/events/dead-letter/other")
            .await
            .status,
        404
    );

    // Replay needs a filter; the cause fixed (the owners now allow
    // attestations), the replayed event applies.
    let reply = app
        .post_internal("/internal/events/dead-letter/replay", &json!({}))
        .await;
    assert_eq!(reply.status, 400);
    // Replayed before the cause is fixed, it fails again: its stages keep
    // the first attempt and add the second.
    let first_stages = letter["stages"].clone();
    let replay_poison = || async {
        app.post_internal(
            "/internal/events/dead-letter/replay",
            &json!({"event_ids": ["poison-1"]}),
        )
        .await
        .body
    };
    assert_eq!(replay_poison().await, json!({"replayed": 1}));
    let inspect = || app.call_internal("GET", "/internal/events/dead-letter/poison-1");
    app.eventually("the replay dead-lettered again", || async {
        inspect().await.body["stages"].as_array().map(Vec::len) == Some(3)
    })
    .await;
    let inspected = inspect().await.body;
    assert_failed_stages(&inspected, 2);
    assert_eq!(inspected["stages"][1], first_stages[1]);

    let reopened =
        events::relationship_event("relationship.updated", "alice", "bob", 1, 80, events::CID2);
    assert_eq!(
        app.post_internal("/internal/events", &reopened)
            .await
            .status,
        200
    );
    app.eventually("the relationship reopened", || async {
        let uri: AtUri = target.parse().unwrap();
        app.state
            .store
            .get_relationship(&uri)
            .await
            .unwrap()
            .unwrap()
            .allow_attestation
    })
    .await;
    assert_eq!(replay_poison().await, json!({"replayed": 1}));
    let attestation: AtUri = events::attestation_uri("carol", 1).parse().unwrap();
    app.eventually("the replayed attestation applied", || async {
        app.state
            .store
            .get_attestation(&attestation)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(
        app.call_internal("GET", "/internal/events/dead-letter")
            .await
            .body["count"],
        0
    );
}

#[tokio::test]
async fn dead_letters_can_be_purged_by_filter() {
    let app = TestApp::ingesting(|_| {}).await;
    let target = relationship_uri("alice", 1);
    ingest_and_wait(&app, &events::relationship("alice", "bob", 1, 80), &target).await;
    // Self-attestations break a rule at apply time.
    for n in 0..3 {
        let body = events::attestation("alice", n, &target, "verify");
        assert_eq!(
            app.post_internal("/internal/events", &body).await.status,
            200
        );
    }
    wait_for_dead_letters(&app, 3).await;
    let page = app
        .call_internal("GET", "/internal/events/dead-letter?limit=2")
        .await;
    assert_eq!(page.body["events"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["next_offset"], 2);
    assert_eq!(
        app.call_internal("GET", "/internal/events/dead-letter?limit=0")
            .await
            .status,
        400
    );
    let reply = app
        .call_internal(
            "DELETE",
            "/internal/events/dead-letter?event_type=relationship.created",
        )
        .await;
    assert_eq!(reply.body, json!({"purged": 0}));
    let reply = app
        .call_internal("DELETE", "/internal/events/dead-letter")
        .await;
    assert_eq!(reply.body, json!({"purged": 3}));
}

#[tokio::test]
async fn concurrent_clients_keep_each_records_order() {
    let app = std::sync::Arc::new(TestApp::ingesting(|c| c.event_workers = 4).await);
    // 8 clients, each walking its own records through create, updates and,
    // for odd records, a delete; interleaved with each other.
    let mut clients = Vec::new();
    for client in 0..8u64 {
        let app = std::sync::Arc::clone(&app);
        clients.push(tokio::spawn(async move {
            let author = format!("c{client}");
            for record in 0..5u64 {
                let n = client * 100 + record;
                let mut steps = vec![relationship(&author, "hub", n, 10)];
                for (i, cid) in [events::CID2, events::CID].iter().enumerate() {
                    steps.push(events::relationship_event(
                        "relationship.updated",
                        &author,
                        "hub",
                        n,
                        20 + i as u8 * 10,
                        cid,
                    ));
                }
                if record % 2 == 1 {
                    steps.push(events::relationship_deleted(&author, n));
                }
                for step in steps {
                    let reply = app.post_internal("/internal/events", &step).await;
                    assert_eq!(reply.status, 200, "{:?}", reply.body);
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    app.eventually("every event settled", || async {
        app.state.pipeline.metrics().events_in_queue == 0
    })
    .await;
    for client in 0..8u64 {
        for record in 0..5u64 {
            let uri: AtUri = relationship_uri(&format!("c{client}"), client * 100 + record)
                .parse()
                .unwrap();
            let stored = app.state.store.get_relationship(&uri).await.unwrap();
            if record % 2 == 1 {
                assert!(stored.is_none(), "{uri} should be deleted");
                assert!(app.state.graph.read().relationship(&uri).is_none());
            } else {
                let stored = stored.unwrap_or_else(|| panic!("{uri} missing"));
                assert_eq!(stored.strength, 30, "{uri}: the last update wins");
                assert_eq!(
                    app.state
                        .graph
                        .read()
                        .relationship(&uri)
                        .unwrap()
                        .strength
                        .get(),
                    30
                );
            }
        }
    }
}

#[tokio::test]
async fn direct_attestations_return_the_conviction_that_includes_them() {
    let app = TestApp::ingesting(|_| {}).await;
    let target = relationship_uri("alice", 1);
    ingest_and_wait(&app, &events::relationship("alice", "bob", 1, 80), &target).await;

    let reply = app
        .call(
            "POST",
            "/api/v1/attestations",
            Some(events::attestation_payload("carol", 1, &target, "verify")),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(
        reply.body["attestation_uri"],
        events::attestation_uri("carol", 1)
    );
    let conviction = &reply.body["conviction"];
    assert_eq!(conviction["attestation_count"], 1);
    assert_eq!(conviction["verify_count"], 1);
    assert_eq!(
        conviction["score"], 100,
        "one verify is all the evidence: {conviction}"
    );

    // The TS indexer's optional keys may be absent; the required ones not.
    let mut missing = events::attestation_payload("dave", 2, &target, "verify");
    missing.as_object_mut().unwrap().remove("indexed_at");
    let reply = app
        .call("POST", "/api/v1/attestations", Some(missing))
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.body["detail"][0]["loc"],
        json!(["body", "indexed_at"])
    );
    // Enum and range violations, and a participant attesting: 400.
    let reply = app
        .call(
            "POST",
            "/api/v1/attestations",
            Some(events::attestation_payload("dave", 3, &target, "endorse")),
        )
        .await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    let mut low = events::attestation_payload("dave", 4, &target, "dispute");
    low["confidence"] = json!(101);
    assert_eq!(
        app.call("POST", "/api/v1/attestations", Some(low))
            .await
            .status,
        400
    );
    let reply = app
        .call(
            "POST",
            "/api/v1/attestations",
            Some(events::attestation_payload("bob", 5, &target, "verify")),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("participates"));
    // An attester with no entity row is accepted; a dispute lowers the score.
    let reply = app
        .call(
            "POST",
            "/api/v1/attestations",
            Some(events::attestation_payload("erin", 6, &target, "dispute")),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["conviction"]["attestation_count"], 2);
    assert!(reply.body["conviction"]["score"].as_u64().unwrap() < 100);
}

#[tokio::test]
async fn random_bodies_never_cause_a_server_error() {
    let app = TestApp::ingesting(|_| {}).await;
    let mut rng = SplitMix(0x5eed);
    let valid = relationship("alice", "bob", 1, 80);
    for round in 0..600 {
        // Half fully random JSON, half a valid body with one field mangled.
        let body = if round % 2 == 0 {
            random_json(&mut rng, 3)
        } else {
            let mut body = valid.clone();
            let fields = ["event_type", "did", "priority", "event_id", "payload"];
            let field = fields[(rng.next() % fields.len() as u64) as usize];
            let target = if rng.next().is_multiple_of(2) {
                &mut body
            } else {
                &mut body["payload"]
            };
            target[field] = random_json(&mut rng, 2);
            body
        };
        for path in [
            "/internal/events",
            "/internal/events/batch",
            "/api/v1/attestations",
        ] {
            let reply = app.post_internal(path, &body).await;
            assert!(
                reply.status.as_u16() < 500,
                "{path} {body}: {:?}",
                reply.body
            );
        }
    }
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn random_json(rng: &mut SplitMix, depth: u32) -> Value {
    let strings = [
        "",
        "did:plc:alice",
        "relationship.created",
        "at://x/y/z",
        "💥",
        "1",
        "null",
    ];
    match rng.next() % if depth == 0 { 5 } else { 7 } {
        0 => Value::Null,
        1 => json!(rng.next().is_multiple_of(2)),
        2 => json!((rng.next() % 400) as i64 - 200),
        3 => json!(strings[(rng.next() % strings.len() as u64) as usize]),
        4 => json!(f64::from((rng.next() % 1000) as u32) / 7.0),
        5 => Value::Array(
            (0..rng.next() % 4)
                .map(|_| random_json(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "event_type",
                "did",
                "payload",
                "priority",
                "uri",
                "cid",
                "record",
                "x",
            ];
            Value::Object(
                (0..rng.next() % 5)
                    .map(|_| {
                        let key = keys[(rng.next() % keys.len() as u64) as usize].to_owned();
                        (key, random_json(rng, depth - 1))
                    })
                    .collect(),
            )
        }
    }
}

/// Within one batch, an attestation is checked against a relationship
/// created earlier in the same batch, and a repeat of an applied event
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sees_its_own_earlier_writes() {
    use rhiz_server::apply::Applied;
    use rhiz_server::ingest::parse_ingestion_body;

    let app = TestApp::ingesting(|_| {}).await;
    let now = chrono::Utc::now();
    let target = relationship_uri("alice", 1);
    let bodies = [
        relationship("alice", "bob", 1, 70),
        events::attestation("bob", 1, &target, "verify"),
        events::attestation("carol", 1, &target, "verify"),
    ];
    let batch: Vec<_> = bodies
        .iter()
        .map(|body| parse_ingestion_body(body, now).unwrap())
        .collect();
    let refs: Vec<_> = batch.iter().collect();
    let results = app.state.applier.apply_events(&refs).await;
    assert!(matches!(results[0], Ok(Applied::Changed(_))), "{results:?}");
    let rule = results[1].as_ref().unwrap_err().message().to_owned();
    assert!(rule.contains("participates in"), "{rule}");
    assert!(matches!(results[2], Ok(Applied::Changed(_))), "{results:?}");

    let again = app.state.applier.apply_events(&refs[..1]).await;
    assert_eq!(again, [Ok(Applied::Unchanged)]);
    let attestations = app
        .state
        .store
        .attestations_for(&target.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(attestations.len(), 1);
    assert_eq!(attestations[0].attester.as_str(), did("carol"));
}
