//! Graph queries over HTTP (CONTRACT.md §2.7, §2.8, §3.3, §3.4): XRPC
//! `findPath` and `getNeighbors`, REST `find-path` and `neighbors`, on a
//! small graph loaded through the ingestion path, with hand-computed
//! answers.

mod support;

use serde_json::{json, Value};
use support::events::{
    did, relationship, relationship_deleted, relationship_record, relationship_uri,
};
use support::TestApp;

/// The test graph (strength, type; all public unless said):
///
/// ```text
///   a —85— b —78— c —90— d —80— e        (professional)
///   a ———————60——— c                      (family)
///   a —99— h —99— e                       (private: never used)
/// ```
///
/// Strongest a→c: a-b-c = round(100 × 0.85 × 0.78) = 66, then a-c = 60.
/// Strongest a→e: a-b-c-d-e = round(100 × 0.85 × 0.78 × 0.9 × 0.8) = 48
/// (4 hops); within 3 hops a-c-d-e = round(100 × 0.6 × 0.9 × 0.8) = 43.
async fn graph_app() -> TestApp {
    let app = TestApp::ingesting(|_| {}).await;
    let later = "2026-06-01T00:00:00Z";
    for body in [
        relationship("a", "b", 1, 85),
        relationship("b", "c", 2, 78),
        relationship_record("a", "c", 3, 60, "family", "public", later),
        relationship("c", "d", 4, 90),
        relationship("d", "e", 5, 80),
        relationship_record("a", "h", 6, 99, "professional", "private", later),
        relationship_record("h", "e", 7, 99, "professional", "private", later),
    ] {
        app.apply(&body).await;
    }
    app
}

fn find_path(query: &str) -> String {
    format!("/xrpc/net.rhiz.graph.findPath?{query}")
}

fn neighbors(query: &str) -> String {
    format!("/xrpc/net.rhiz.graph.getNeighbors?{query}")
}

/// `(totalStrength, [hop strengths], [relationship URIs])` of each path.
fn summary(body: &Value) -> Vec<(u64, Vec<u64>, Vec<String>)> {
    body["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| {
            let hops = p["hops"].as_array().unwrap();
            assert_eq!(p["distance"].as_u64().unwrap() as usize, hops.len());
            (
                p["totalStrength"].as_u64().unwrap(),
                hops.iter()
                    .map(|h| h["strength"].as_u64().unwrap())
                    .collect(),
                hops.iter()
                    .map(|h| h["relationshipUri"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn find_path_returns_the_strongest_paths_first_with_their_hops() {
    let app = graph_app().await;
    let reply = app
        .call("GET", &find_path("from=did:plc:a&to=did:plc:c"), None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let paths = summary(&reply.body);
    assert_eq!(paths[0].0, 66);
    assert_eq!(paths[0].1, [85, 78]);
    assert_eq!(
        paths[0].2,
        [relationship_uri("a", 1), relationship_uri("b", 2)]
    );
    assert_eq!(paths[1].0, 60);
    assert_eq!(paths[1].2, [relationship_uri("a", 3)]);
    let first = &reply.body["paths"][0];
    assert_eq!(first["from"], did("a"));
    assert_eq!(first["to"], did("c"));
    assert_eq!(first["hops"][0]["from"], did("a"));
    assert_eq!(first["hops"][0]["to"], did("b"));
    assert_eq!(first["hops"][1]["to"], did("c"));
    assert_eq!(first["hops"][0]["relationshipCid"], support::events::CID);

    // The alias prefix answers the same.
    let alias = app
        .call(
            "GET",
            &format!("/api/v1{}", find_path("from=did:plc:a&to=did:plc:c")),
            None,
        )
        .await;
    assert_eq!(alias.body, reply.body);
}

#[tokio::test]
async fn find_path_honours_hops_strength_exclusions_and_types() {
    let app = graph_app().await;
    let best = |query: &'static str| {
        let app = &app;
        async move {
            let reply = app.call("GET", &find_path(query), None).await;
            assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
            summary(&reply.body)
                .first()
                .map(|(total, hops, _)| (*total, hops.len()))
        }
    };
    // Never through the private relationships (a-h-e would be 98).
    assert_eq!(best("from=did:plc:a&to=did:plc:e").await, Some((48, 4)));
    assert_eq!(best("from=did:plc:a&to=did:plc:h").await, None);
    // Hop limit, inclusive: exactly 3 hops is found at maxHops=3.
    assert_eq!(
        best("from=did:plc:a&to=did:plc:e&maxHops=3").await,
        Some((43, 3))
    );
    assert_eq!(best("from=did:plc:a&to=did:plc:e&maxHops=2").await, None);
    // Exclusions, repeated and bracketed keys.
    assert_eq!(
        best("from=did:plc:a&to=did:plc:c&excludeDids=did:plc:b").await,
        Some((60, 1))
    );
    assert_eq!(
        best("from=did:plc:a&to=did:plc:e&excludeDids[]=did:plc:b&excludeDids[]=did:plc:d").await,
        None
    );
    // Types: exact match; an unknown type matches nothing.
    assert_eq!(
        best("from=did:plc:a&to=did:plc:c&relationshipTypes=family").await,
        Some((60, 1))
    );
    assert_eq!(
        best("from=did:plc:a&to=did:plc:c&relationshipTypes=professional").await,
        Some((66, 2))
    );
    assert_eq!(
        best("from=did:plc:a&to=did:plc:c&relationshipTypes=zzz&relationshipTypes=family").await,
        Some((60, 1))
    );
    assert_eq!(
        best("from=did:plc:a&to=did:plc:c&relationshipTypes=zzz").await,
        None
    );
    // Strength: inclusive threshold on every hop.
    assert_eq!(
        best("from=did:plc:a&to=did:plc:c&minStrength=78").await,
        Some((66, 2))
    );
    assert_eq!(
        best("from=did:plc:a&to=did:plc:c&minStrength=79").await,
        None
    );
    // Unknown DIDs: no path, not an error.
    assert_eq!(best("from=did:plc:a&to=did:plc:nobody").await, None);
}

#[tokio::test]
async fn xrpc_parameters_are_validated_never_clamped() {
    let app = graph_app().await;
    for query in [
        find_path("to=did:plc:c"),
        find_path("from=did:plc:a"),
        find_path("from=did:plc:a&to=did:plc:a"),
        find_path("from=alice&to=did:plc:c"),
        find_path("from=did:plc:a&to=did:plc:c&maxHops=0"),
        find_path("from=did:plc:a&to=did:plc:c&maxHops=11"),
        find_path("from=did:plc:a&to=did:plc:c&maxHops=six"),
        find_path("from=did:plc:a&to=did:plc:c&maxHops=3&maxHops=4"),
        find_path("from=did:plc:a&to=did:plc:c&minStrength=101"),
        find_path("from=did:plc:a&to=did:plc:c&minStrength=-1"),
        find_path("from=did:plc:a&to=did:plc:c&excludeDids=bob"),
        neighbors(""),
        neighbors("did=did:plc:a&limit=0"),
        neighbors("did=did:plc:a&limit=101"),
        neighbors("did=did:plc:a&minStrength=101"),
        neighbors("did=did:plc:a&cursor=garbage"),
    ] {
        let reply = app.call("GET", &query, None).await;
        assert_eq!(reply.status, 400, "{query}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "InvalidRequest", "{query}");
        assert_eq!(reply.body["message"], reply.body["detail"], "{query}");
    }
    // Queries are GET only.
    let reply = app
        .call(
            "POST",
            &find_path("from=did:plc:a&to=did:plc:c"),
            Some(json!({})),
        )
        .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.body["error"], "InvalidRequest");
    // Other NSIDs are still not implemented.
    let reply = app
        .call("GET", "/xrpc/net.rhiz.graph.somethingElse", None)
        .await;
    assert_eq!(reply.status, 501);
}

#[tokio::test]
async fn get_neighbors_pages_by_uri_filters_and_hides_private_relationships() {
    let app = graph_app().await;
    // An entity for b, none for the others.
    let reply = app
        .call(
            "POST",
            "/api/v1/entities",
            Some(json!({"did": did("b"), "type": "person", "name": "Bob", "handle": "bob.test"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);

    // c's relationships by URI: a's record (3), b's (2), c's (4).
    let reply = app
        .call("GET", &neighbors("did=did:plc:c&limit=2"), None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let page = &reply.body;
    let uris: Vec<&str> = page["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["relationshipUri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, [relationship_uri("a", 3), relationship_uri("b", 2)]);
    assert_eq!(page["cursor"], relationship_uri("b", 2));
    let bob = &page["neighbors"][1];
    assert_eq!(bob["strength"], 78);
    assert_eq!(bob["type"], "professional");
    assert_eq!(bob["entity"]["did"], did("b"));
    assert_eq!(bob["entity"]["handle"], "bob.test");
    assert_eq!(bob["entity"]["displayName"], "Bob");
    assert_eq!(bob["entity"]["entityType"], "person");
    assert_eq!(bob["entity"]["verified"], false);
    let alice = &page["neighbors"][0]["entity"];
    assert_eq!(alice["handle"], "handle.invalid");
    assert_eq!(alice["displayName"], did("a"));
    assert!(alice.get("entityType").is_none(), "{alice}");
    assert!(alice["createdAt"].is_string());

    let cursor = page["cursor"].as_str().unwrap();
    let reply = app
        .call(
            "GET",
            &neighbors(&format!("did=did:plc:c&limit=2&cursor={cursor}")),
            None,
        )
        .await;
    assert_eq!(reply.body["neighbors"].as_array().unwrap().len(), 1);
    assert_eq!(
        reply.body["neighbors"][0]["relationshipUri"],
        relationship_uri("c", 4)
    );
    assert!(reply.body.get("cursor").is_none(), "{:?}", reply.body);

    // Filters.
    let reply = app
        .call(
            "GET",
            &neighbors("did=did:plc:c&relationshipTypes=family"),
            None,
        )
        .await;
    assert_eq!(reply.body["neighbors"].as_array().unwrap().len(), 1);
    let reply = app
        .call("GET", &neighbors("did=did:plc:c&minStrength=79"), None)
        .await;
    assert_eq!(reply.body["neighbors"][0]["strength"], 90);
    assert_eq!(reply.body["neighbors"].as_array().unwrap().len(), 1);
    // Private relationships are never returned; unknown DIDs have none.
    for who in ["h", "nobody"] {
        let reply = app
            .call("GET", &neighbors(&format!("did=did:plc:{who}")), None)
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, json!({"neighbors": []}), "{who}");
    }
    let reply = app.call("GET", &neighbors("did=did:plc:a"), None).await;
    let strengths: Vec<&Value> = reply.body["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["strength"])
        .collect();
    assert_eq!(strengths, [&json!(85), &json!(60)]);
}

#[tokio::test]
async fn neighbor_pages_stay_stable_while_the_graph_changes() {
    let app = graph_app().await;
    let first = app
        .call("GET", &neighbors("did=did:plc:c&limit=2"), None)
        .await;
    let cursor = first.body["cursor"].as_str().unwrap().to_owned();
    // Between the pages: the first item goes, one relationship appears
    // before the cursor and one after it.
    app.apply(&relationship_deleted("a", 3)).await;
    app.apply(&relationship("a", "c", 8, 70)).await;
    app.apply(&relationship("c", "f", 9, 70)).await;
    let second = app
        .call(
            "GET",
            &neighbors(&format!("did=did:plc:c&limit=2&cursor={cursor}")),
            None,
        )
        .await;
    let uris: Vec<&str> = second.body["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["relationshipUri"].as_str().unwrap())
        .collect();
    // Nothing repeated, the unchanged relationship (c's 4) not skipped.
    assert_eq!(uris, [relationship_uri("c", 4), relationship_uri("c", 9)]);
}

#[tokio::test]
async fn rest_find_path_speaks_fractions_and_404s_when_there_is_no_path() {
    let app = graph_app().await;
    let reply = app
        .call(
            "POST",
            "/api/v1/graph/find-path",
            Some(json!({"from": did("a"), "to": did("e")})),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["total_strength"], 0.48);
    assert_eq!(reply.body["distance"], 4);
    assert_eq!(reply.body["from"], did("a"));
    assert_eq!(reply.body["to"], did("e"));
    let hops = reply.body["hops"].as_array().unwrap();
    let strengths: Vec<f64> = hops
        .iter()
        .map(|h| h["strength"].as_f64().unwrap())
        .collect();
    assert_eq!(strengths, [0.85, 0.78, 0.9, 0.8]);
    assert_eq!(hops[0]["relationship_id"], relationship_uri("a", 1));
    assert_eq!(hops[3]["to"], did("e"));

    // The Python SDK's names, its max_hops and a 0.0–1.0 threshold.
    let reply = app
        .call(
            "POST",
            "/api/v1/graph/find-path/",
            Some(
                json!({"from_entity": did("a"), "to_entity": did("e"), "max_hops": 3,
                        "min_strength": 0.6, "relationship_types": null, "exclude_entities": null}),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["total_strength"], 0.43);
    assert_eq!(reply.body["distance"], 3);

    for body in [
        json!({"from": did("a"), "to": did("e"), "max_hops": 2}),
        json!({"from": did("a"), "to": did("e"), "min_strength": 0.79}),
        json!({"from": did("a"), "to": did("e"), "exclude_entities": [did("c")]}),
        json!({"from": did("a"), "to": did("c"), "relationship_types": ["zzz"]}),
        json!({"from": did("a"), "to": did("h")}),
        json!({"from": did("a"), "to": did("a")}),
        json!({"from": did("a"), "to": did("nobody")}),
    ] {
        let reply = app
            .call("POST", "/api/v1/graph/find-path", Some(body.clone()))
            .await;
        assert_eq!(reply.status, 404, "{body}: {:?}", reply.body);
        assert!(reply.body["detail"].is_string());
    }
}

#[tokio::test]
async fn rest_find_path_validation_is_a_422_naming_every_field() {
    let app = graph_app().await;
    let reply = app
        .call(
            "POST",
            "/api/v1/graph/find-path",
            Some(json!({"from": "alice", "max_hops": 11, "min_strength": 1.5,
                        "exclude_entities": [did("b"), "bob"]})),
        )
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    let locs: Vec<&Value> = reply.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["loc"])
        .collect();
    for loc in [
        json!(["body", "from"]),
        json!(["body", "to"]),
        json!(["body", "max_hops"]),
        json!(["body", "min_strength"]),
        json!(["body", "exclude_entities", 1]),
    ] {
        assert!(locs.contains(&&loc), "{loc} not in {locs:?}");
    }
    // Integers take only JSON integers.
    let reply = app
        .call(
            "POST",
            "/api/v1/graph/find-path",
            Some(json!({"from": did("a"), "to": did("c"), "max_hops": "6"})),
        )
        .await;
    assert_eq!(reply.status, 422);
    // Zero hops is out of range.
    let reply = app
        .call(
            "POST",
            "/api/v1/graph/find-path",
            Some(json!({"from": did("a"), "to": did("c"), "max_hops": 0})),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["detail"][0]["type"], "greater_than_equal");
}

#[tokio::test]
async fn rest_neighbors_sorts_by_strength_filters_by_fraction_and_hides_private() {
    let app = graph_app().await;
    let reply = app
        .call("GET", "/api/v1/graph/neighbors/did:plc:c", None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["entity_id"], did("c"));
    assert_eq!(reply.body["count"], 3);
    let items = reply.body["neighbors"].as_array().unwrap();
    let order: Vec<(&str, f64)> = items
        .iter()
        .map(|n| {
            (
                n["entity_id"].as_str().unwrap(),
                n["strength"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [("did:plc:d", 0.9), ("did:plc:b", 0.78), ("did:plc:a", 0.6)]
    );
    assert_eq!(items[2]["type"], "family");
    assert_eq!(items[2]["relationship_id"], relationship_uri("a", 3));

    let reply = app
        .call(
            "GET",
            "/api/v1/graph/neighbors/did:plc:c?min_strength=0.78",
            None,
        )
        .await;
    assert_eq!(reply.body["count"], 2);
    // Ties: by relationship URI.
    app.apply(&relationship("e", "c", 10, 90)).await;
    let reply = app
        .call(
            "GET",
            "/api/v1/graph/neighbors/did:plc:c?min_strength=0.9",
            None,
        )
        .await;
    let ids: Vec<&Value> = reply.body["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["relationship_id"])
        .collect();
    assert_eq!(
        ids,
        [
            &json!(relationship_uri("c", 4)),
            &json!(relationship_uri("e", 10))
        ]
    );

    // Private relationships are not neighbors; unknown DIDs have none.
    for who in ["h", "nobody"] {
        let reply = app
            .call(
                "GET",
                &format!("/api/v1/graph/neighbors/did:plc:{who}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.body,
            json!({"entity_id": did(who), "neighbors": [], "count": 0})
        );
    }
    // Not a DID: 404; a bad threshold: 422 in the query.
    let reply = app.call("GET", "/api/v1/graph/neighbors/alice", None).await;
    assert_eq!(reply.status, 404);
    for query in ["min_strength=1.5", "min_strength=high", "min_strength=-0.1"] {
        let reply = app
            .call(
                "GET",
                &format!("/api/v1/graph/neighbors/did:plc:c?{query}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 422, "{query}");
        assert_eq!(
            reply.body["detail"][0]["loc"],
            json!(["query", "min_strength"])
        );
    }
}
