//! REST `/api/v1/entities` as CONTRACT.md §2.1–§2.6 specifies, on both
//! store backends.

mod support;

use serde_json::{json, Value};
use support::TestApp;

const ALICE: &str = "did:plc:alice234567abcdefghijkl";
const BOB: &str = "did:plc:bob234567abcdefghijklmn";

fn alice() -> Value {
    json!({
        "did": ALICE,
        "type": "person",
        "name": "Alice",
        "bio": "builds graphs",
        "avatar_url": "https://example.com/a.png",
        "handle": "alice.example.com",
    })
}

async fn create_then_read_back(app: TestApp) {
    let created = app.call("POST", "/api/v1/entities/", Some(alice())).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let entity = &created.body;
    assert_eq!(entity["did"], ALICE);
    assert_eq!(entity["id"], ALICE, "TS SDK requires id = did");
    assert_eq!(entity["type"], "person");
    assert_eq!(entity["name"], "Alice");
    assert_eq!(entity["bio"], "builds graphs");
    assert_eq!(entity["avatar_url"], "https://example.com/a.png");
    assert_eq!(entity["handle"], "alice.example.com");
    assert_eq!(entity["verified"], false);
    assert_eq!(
        entity["profile_uri"],
        Value::Null,
        "absent optionals are null"
    );
    assert_eq!(entity["profile_cid"], Value::Null);
    let created_at = entity["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z'), "{created_at}");
    chrono::DateTime::parse_from_rfc3339(created_at).unwrap();
    assert_eq!(entity["created_at"], entity["updated_at"]);

    let by_did = app
        .call("GET", &format!("/api/v1/entities/{ALICE}"), None)
        .await;
    assert_eq!(by_did.status, 200);
    assert_eq!(&by_did.body, entity);

    let by_handle = app
        .call("GET", "/api/v1/entities/by-handle/Alice.Example.COM", None)
        .await;
    assert_eq!(by_handle.status, 200, "handles are case-insensitive");
    assert_eq!(&by_handle.body, entity);
}

async fn python_sdk_legacy_id_key_is_accepted(app: TestApp) {
    let body = json!({"id": BOB, "type": "organization", "name": "Bob Inc"});
    let created = app.call("POST", "/api/v1/entities", Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["did"], BOB);
    assert_eq!(created.body["handle"], Value::Null);

    let both = json!({"did": ALICE, "id": "not-a-did", "type": "agent", "name": "A"});
    let created = app.call("POST", "/api/v1/entities", Some(both)).await;
    assert_eq!(created.status, 201, "did wins over id: {:?}", created.body);
    assert_eq!(created.body["did"], ALICE);
}

async fn profile_record_fields_round_trip(app: TestApp) {
    let uri = format!("at://{ALICE}/net.rhiz.entity.profile/self");
    let cid = "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi";
    let mut body = alice();
    body["profile_uri"] = json!(uri);
    body["profile_cid"] = json!(cid);
    let created = app.call("POST", "/api/v1/entities", Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["profile_uri"], uri);
    assert_eq!(created.body["profile_cid"], cid);
}

async fn duplicate_did_is_400_and_taken_handle_is_409(app: TestApp) {
    assert_eq!(
        app.call("POST", "/api/v1/entities", Some(alice()))
            .await
            .status,
        201
    );
    let again = app.call("POST", "/api/v1/entities", Some(alice())).await;
    assert_eq!(again.status, 400);
    assert!(again.body["detail"].as_str().unwrap().contains(ALICE));

    let same_handle =
        json!({"did": BOB, "type": "person", "name": "Bob", "handle": "ALICE.example.com"});
    let taken = app
        .call("POST", "/api/v1/entities", Some(same_handle))
        .await;
    assert_eq!(taken.status, 409, "{:?}", taken.body);
    assert!(taken.body["detail"].is_string());
    let missing = app
        .call("GET", &format!("/api/v1/entities/{BOB}"), None)
        .await;
    assert_eq!(missing.status, 404, "a refused create writes nothing");
}

async fn patch_changes_only_the_keys_sent(app: TestApp) {
    let created = app
        .call("POST", "/api/v1/entities", Some(alice()))
        .await
        .body;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let path = format!("/api/v1/entities/{ALICE}");

    let renamed = app
        .call("PATCH", &path, Some(json!({"name": "Alice L."})))
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(renamed.body["name"], "Alice L.");
    assert_eq!(renamed.body["bio"], created["bio"], "absent keys stay");
    assert_eq!(renamed.body["created_at"], created["created_at"]);
    assert_ne!(
        renamed.body["updated_at"], created["updated_at"],
        "updated_at refreshed"
    );

    let cleared = app
        .call("PATCH", &path, Some(json!({"bio": null, "handle": null})))
        .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.body["bio"], Value::Null, "null clears");
    assert_eq!(cleared.body["handle"], Value::Null);
    assert_eq!(cleared.body["name"], "Alice L.");

    let ignored = json!({"did": BOB, "verified": true, "type": "agent"});
    let unchanged = app.call("PATCH", &path, Some(ignored)).await;
    assert_eq!(unchanged.status, 200);
    assert_eq!(unchanged.body["did"], ALICE);
    assert_eq!(
        unchanged.body["verified"], false,
        "verified is never taken from clients"
    );
    assert_eq!(unchanged.body["type"], "person");

    let empty = app.call("PATCH", &path, Some(json!({}))).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["name"], "Alice L.");

    let read = app.call("GET", &path, None).await;
    assert_eq!(read.body["name"], "Alice L.");
    assert_eq!(read.body["bio"], Value::Null);
}

async fn patch_rejects_null_name_and_taken_handle(app: TestApp) {
    app.call("POST", "/api/v1/entities", Some(alice())).await;
    let bob = json!({"did": BOB, "type": "person", "name": "Bob", "handle": "bob.example.com"});
    app.call("POST", "/api/v1/entities", Some(bob)).await;
    let path = format!("/api/v1/entities/{BOB}");

    let null_name = app.call("PATCH", &path, Some(json!({"name": null}))).await;
    assert_eq!(null_name.status, 422);
    assert_eq!(null_name.body["detail"][0]["loc"], json!(["body", "name"]));

    let taken = app
        .call("PATCH", &path, Some(json!({"handle": "alice.example.com"})))
        .await;
    assert_eq!(taken.status, 409);
    let read = app.call("GET", &path, None).await;
    assert_eq!(
        read.body["handle"], "bob.example.com",
        "a refused patch writes nothing"
    );

    let unknown = app
        .call(
            "PATCH",
            "/api/v1/entities/did:plc:nobody",
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

async fn delete_then_gone(app: TestApp) {
    app.call("POST", "/api/v1/entities", Some(alice())).await;
    let path = format!("/api/v1/entities/{ALICE}");
    let deleted = app.call("DELETE", &path, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, Value::Null, "204 has no body");
    assert_eq!(app.call("GET", &path, None).await.status, 404);
    assert_eq!(app.call("DELETE", &path, None).await.status, 404);
    let by_handle = app
        .call("GET", "/api/v1/entities/by-handle/alice.example.com", None)
        .await;
    assert_eq!(by_handle.status, 404);
    let recreated = app.call("POST", "/api/v1/entities", Some(alice())).await;
    assert_eq!(recreated.status, 201, "the DID and handle are free again");
}

async fn unknown_and_invalid_dids(app: TestApp) {
    let unknown = app
        .call("GET", "/api/v1/entities/did:plc:nobody", None)
        .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["detail"]
        .as_str()
        .unwrap()
        .contains("did:plc:nobody"));

    let invalid_read = app.call("GET", "/api/v1/entities/not-a-did", None).await;
    assert_eq!(
        invalid_read.status, 404,
        "nothing can exist under an invalid DID"
    );

    let invalid_write = app
        .call("PATCH", "/api/v1/entities/not-a-did", Some(json!({})))
        .await;
    assert_eq!(invalid_write.status, 422);
    assert_eq!(
        invalid_write.body["detail"][0]["loc"],
        json!(["path", "did"])
    );
    let invalid_delete = app.call("DELETE", "/api/v1/entities/not-a-did", None).await;
    assert_eq!(invalid_delete.status, 422);

    let unknown_handle = app
        .call("GET", "/api/v1/entities/by-handle/nobody.example.com", None)
        .await;
    assert_eq!(unknown_handle.status, 404);
    assert!(unknown_handle.body["detail"]
        .as_str()
        .unwrap()
        .contains("nobody.example.com"));
}

async fn did_paths_may_be_percent_encoded_or_raw(app: TestApp) {
    let did_web = "did:web:example.com%3A8443";
    let body = json!({"did": did_web, "type": "organization", "name": "Example"});
    let created = app.call("POST", "/api/v1/entities/", Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let raw = app
        .call("GET", "/api/v1/entities/did:web:example.com%253A8443", None)
        .await;
    assert_eq!(raw.status, 200, "a percent-encoded segment is decoded once");
    assert_eq!(raw.body["did"], did_web);

    app.call("POST", "/api/v1/entities", Some(alice())).await;
    let encoded = app
        .call(
            "GET",
            "/api/v1/entities/did%3Aplc%3Aalice234567abcdefghijkl",
            None,
        )
        .await;
    assert_eq!(encoded.status, 200);
    assert_eq!(encoded.body["did"], ALICE);
    let slash = app
        .call("GET", &format!("/api/v1/entities/{ALICE}/"), None)
        .await;
    assert_eq!(slash.status, 200, "trailing slash is optional");
}

on_every_backend!(
    create_then_read_back,
    python_sdk_legacy_id_key_is_accepted,
    profile_record_fields_round_trip,
    duplicate_did_is_400_and_taken_handle_is_409,
    patch_changes_only_the_keys_sent,
    patch_rejects_null_name_and_taken_handle,
    delete_then_gone,
    unknown_and_invalid_dids,
    did_paths_may_be_percent_encoded_or_raw,
);
