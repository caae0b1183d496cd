//! Every kind of bad request gets a 4xx in its API family's shape, naming
//! the field and the rule, and never a 500 (CONTRACT.md §1.2–§1.4).

mod support;

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use support::TestApp;

async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> support::Reply {
    let mut request = Request::post("/api/v1/entities");
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    app.send(request.body(body.into()).unwrap()).await
}

fn issue<'a>(reply: &'a support::Reply, field: &str) -> &'a Value {
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    reply.body["detail"]
        .as_array()
        .expect("detail is a list")
        .iter()
        .find(|issue| issue["loc"] == json!(["body", field]))
        .unwrap_or_else(|| panic!("no issue for {field}: {:?}", reply.body))
}

#[tokio::test]
async fn malformed_json_is_422_json_invalid() {
    let app = TestApp::sqlite().await;
    let reply = post_raw(&app, Some("application/json"), "{\"did\": ").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["detail"][0]["type"], "json_invalid");
    assert_eq!(reply.body["detail"][0]["loc"][0], "body");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_422() {
    let app = TestApp::sqlite().await;
    let reply = post_raw(&app, Some("application/json"), "[]").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["detail"][0]["type"], "model_attributes_type");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::sqlite().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let reply = post_raw(&app, content_type, "{}").await;
        assert_eq!(reply.status, 415, "{content_type:?}");
        assert!(reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("application/json"));
    }
    let charset = post_raw(&app, Some("application/json; charset=utf-8"), "{}").await;
    assert_eq!(
        charset.status, 422,
        "a charset parameter is fine; the empty object is not"
    );
}

#[tokio::test]
async fn wrong_json_types_name_the_field() {
    let app = TestApp::sqlite().await;
    let body = json!({"did": "did:plc:abc", "type": "person", "name": 42});
    let reply = app.call("POST", "/api/v1/entities", Some(body)).await;
    let issue = issue(&reply, "name");
    assert_eq!(issue["input"], 42);
    assert!(issue["msg"].as_str().unwrap().contains("string"), "{issue}");
}

#[tokio::test]
async fn missing_required_fields_are_all_listed() {
    let app = TestApp::sqlite().await;
    let reply = app
        .call("POST", "/api/v1/entities", Some(json!({"bio": "hi"})))
        .await;
    for field in ["did", "type", "name"] {
        assert_eq!(issue(&reply, field)["type"], "missing");
    }
}

#[tokio::test]
async fn invalid_values_name_the_field_and_the_rule() {
    let app = TestApp::sqlite().await;
    let long_did = format!("did:plc:{}", "a".repeat(250));
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"did": "did:PLC:abc"}), "did", "value_error"),
        (json!({"did": "plc:abc"}), "did", "value_error"),
        (json!({"did": long_did}), "did", "string_too_long"),
        (json!({"did": null, "id": "alice"}), "id", "value_error"),
        (json!({"type": "robot"}), "type", "enum"),
        (json!({"name": ""}), "name", "string_too_short"),
        (json!({"name": "n".repeat(256)}), "name", "string_too_long"),
        (json!({"bio": "b".repeat(1001)}), "bio", "string_too_long"),
        (json!({"handle": "not a handle"}), "handle", "value_error"),
        (
            json!({"handle": "-bad.example.com"}),
            "handle",
            "value_error",
        ),
        (
            json!({"profile_uri": "https://example.com"}),
            "profile_uri",
            "value_error",
        ),
        (
            json!({"profile_cid": "not-a-cid!"}),
            "profile_cid",
            "value_error",
        ),
    ];
    for (overrides, field, kind) in cases {
        let mut body = json!({"did": "did:plc:abc", "type": "person", "name": "Ann"});
        for (key, value) in overrides.as_object().unwrap() {
            body[key] = value.clone();
        }
        let reply = app
            .call("POST", "/api/v1/entities", Some(body.clone()))
            .await;
        let issue = issue(&reply, field);
        assert_eq!(issue["type"], kind, "{body}: {issue}");
        assert!(!issue["msg"].as_str().unwrap().is_empty());
    }
    let did_issue = {
        let body = json!({"did": "did:PLC:abc", "type": "person", "name": "Ann"});
        app.call("POST", "/api/v1/entities", Some(body)).await
    };
    let msg = issue(&did_issue, "did")["msg"].as_str().unwrap().to_owned();
    assert!(
        msg.contains("did:PLC:abc") && msg.contains("method"),
        "the rule is named: {msg}"
    );
}

#[tokio::test]
async fn a_name_of_255_multibyte_characters_is_accepted() {
    let app = TestApp::sqlite().await;
    let body = json!({"did": "did:plc:abc", "type": "person", "name": "é".repeat(255)});
    let reply = app.call("POST", "/api/v1/entities", Some(body)).await;
    assert_eq!(
        reply.status, 201,
        "lengths count characters: {:?}",
        reply.body
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_at_the_configured_limit() {
    let app = TestApp::with_config(|config| config.max_body_bytes = 2048).await;
    let body =
        json!({"did": "did:plc:abc", "type": "person", "name": "A", "bio": "x".repeat(4000)});
    let reply = post_raw(&app, Some("application/json"), body.to_string()).await;
    assert_eq!(reply.status, 413);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("max_body_bytes"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_rest_shape() {
    let app = TestApp::sqlite().await;
    let missing = app.call("GET", "/api/v1/agents/run", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body["detail"].is_string());
    let wrong_method = app.call("PUT", "/api/v1/entities", Some(json!({}))).await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.body["detail"].is_string());
}

#[tokio::test]
async fn xrpc_errors_use_the_xrpc_shape_under_both_prefixes() {
    let app = TestApp::sqlite().await;
    for prefix in ["/xrpc", "/api/v1/xrpc"] {
        let unknown = app
            .call("GET", &format!("{prefix}/com.example.unknownMethod"), None)
            .await;
        assert_eq!(unknown.status, 501);
        assert_eq!(unknown.body["error"], "MethodNotImplemented");
        assert_eq!(unknown.body["message"], unknown.body["detail"]);
        let invalid = app
            .call("GET", &format!("{prefix}/not-an-nsid"), None)
            .await;
        assert_eq!(invalid.status, 400);
        assert_eq!(invalid.body["error"], "InvalidRequest");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::sqlite().await;
    let generated = app.call("GET", "/health", None).await;
    let id = generated.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let request = Request::get("/api/v1/entities/did:plc:none")
        .header("x-request-id", "caller-chosen-id")
        .body(Body::empty())
        .unwrap();
    let propagated = app.send(request).await;
    assert_eq!(propagated.status, 404);
    assert_eq!(propagated.headers["x-request-id"], "caller-chosen-id");
}

#[tokio::test]
async fn health_and_root_answer() {
    let app = TestApp::sqlite().await;
    let health = app.call("GET", "/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "healthy");
    assert!(health.body["timestamp"].as_f64().unwrap() > 1.6e9);
    let root = app.call("GET", "/", None).await;
    assert_eq!(root.body["service"], "rhiz");
    assert_eq!(root.body["environment"], "development");
    assert_eq!(root.body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn cors_allows_configured_origins_with_credentials() {
    let app =
        TestApp::with_config(|config| config.cors_origins = vec!["https://app.example".into()])
            .await;
    let request = Request::builder()
        .method("OPTIONS")
        .uri("/api/v1/entities")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(reply.headers["access-control-allow-credentials"], "true");
    let other = Request::get("/health")
        .header("origin", "https://evil.example")
        .body(Body::empty())
        .unwrap();
    assert!(!app
        .send(other)
        .await
        .headers
        .contains_key("access-control-allow-origin"));
}
