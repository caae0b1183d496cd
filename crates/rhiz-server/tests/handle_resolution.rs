//! `GET /entities/by-handle/{handle}` falls back to AT Protocol handle
//! resolution (CONTRACT.md §2.3), tested against a real DNS server on
//! loopback that answers `_atproto.<handle>` TXT queries.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use serde_json::json;
use support::TestApp;
use tokio::net::UdpSocket;

/// A DNS server answering TXT queries from `zone` (lowercase names with the
/// trailing dot), NXDOMAIN for anything else. Returns its address and a
/// query counter.
async fn dns_server(
    zone: HashMap<&'static str, Vec<&'static str>>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let counter = queries.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let Ok(request) = Message::from_bytes(&buffer[..len]) else {
                continue;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut response = Message::new();
            response
                .set_id(request.id())
                .set_message_type(MessageType::Response)
                .set_op_code(request.op_code())
                .set_recursion_desired(request.recursion_desired())
                .set_recursion_available(true)
                .add_queries(request.queries().to_vec());
            let question = &request.queries()[0];
            let name = question.name().to_ascii().to_ascii_lowercase();
            match zone.get(name.as_str()) {
                Some(texts) => {
                    for text in texts {
                        let rdata = RData::TXT(TXT::new(vec![(*text).to_owned()]));
                        response.add_answer(Record::from_rdata(question.name().clone(), 60, rdata));
                    }
                }
                None => {
                    response.set_response_code(ResponseCode::NXDomain);
                }
            }
            let _ = socket.send_to(&response.to_bytes().unwrap(), peer).await;
        }
    });
    (addr, queries)
}

async fn app_with_dns(
    zone: HashMap<&'static str, Vec<&'static str>>,
) -> (TestApp, Arc<AtomicUsize>) {
    let (addr, queries) = dns_server(zone).await;
    let app = TestApp::with_config(|config| {
        config.handle_resolution = true;
        config.dns_servers = vec![addr];
    })
    .await;
    (app, queries)
}

#[tokio::test]
async fn an_unknown_handle_is_resolved_through_dns_and_cached() {
    let zone = HashMap::from([(
        "_atproto.carol.rhiz.test.",
        vec!["did=did:plc:carol234567abcdefghijk"],
    )]);
    let (app, queries) = app_with_dns(zone).await;
    let body = json!({"did": "did:plc:carol234567abcdefghijk", "type": "person", "name": "Carol"});
    assert_eq!(
        app.call("POST", "/api/v1/entities", Some(body))
            .await
            .status,
        201
    );

    let found = app
        .call("GET", "/api/v1/entities/by-handle/Carol.Rhiz.Test", None)
        .await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body["did"], "did:plc:carol234567abcdefghijk");
    let asked = queries.load(Ordering::SeqCst);
    assert!(asked >= 1, "the DNS server was asked");

    let again = app
        .call("GET", "/api/v1/entities/by-handle/carol.rhiz.test", None)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        queries.load(Ordering::SeqCst),
        asked,
        "the second lookup is served from the cache"
    );
    let resolutions = &app.state.cache.stats().classes["did"];
    assert_eq!(
        (resolutions.computations, resolutions.l1_hits),
        (1, 1),
        "resolved once, then answered by the answer cache's `did` class"
    );
}

#[tokio::test]
async fn a_handle_that_does_not_resolve_is_not_kept_in_the_answer_cache() {
    let (app, _) = app_with_dns(HashMap::new()).await;
    for _ in 0..2 {
        let reply = app
            .call("GET", "/api/v1/entities/by-handle/nobody.rhiz.test", None)
            .await;
        assert_eq!(reply.status, 404);
    }
    let resolutions = &app.state.cache.stats().classes["did"];
    assert_eq!(
        (resolutions.computations, resolutions.l1_hits),
        (2, 0),
        "a failure is never served from the cache"
    );
}

#[tokio::test]
async fn a_resolved_did_without_an_entity_is_not_found() {
    let zone = HashMap::from([(
        "_atproto.dave.rhiz.test.",
        vec!["did=did:plc:dave234567abcdefghijkl"],
    )]);
    let (app, _) = app_with_dns(zone).await;
    let reply = app
        .call("GET", "/api/v1/entities/by-handle/dave.rhiz.test", None)
        .await;
    assert_eq!(reply.status, 404);
    assert!(reply.body["detail"]
        .as_str()
        .unwrap()
        .contains("dave.rhiz.test"));
}

#[tokio::test]
async fn ambiguous_or_invalid_txt_records_do_not_resolve() {
    let zone = HashMap::from([
        (
            "_atproto.two.rhiz.test.",
            vec!["did=did:plc:one", "did=did:plc:two"],
        ),
        ("_atproto.bad.rhiz.test.", vec!["did=not-a-did"]),
    ]);
    let (app, _) = app_with_dns(zone).await;
    for did in ["did:plc:one", "did:plc:two"] {
        let body = json!({"did": did, "type": "person", "name": "X"});
        assert_eq!(
            app.call("POST", "/api/v1/entities", Some(body))
                .await
                .status,
            201
        );
    }
    for handle in ["two.rhiz.test", "bad.rhiz.test"] {
        let reply = app
            .call("GET", &format!("/api/v1/entities/by-handle/{handle}"), None)
            .await;
        assert_eq!(reply.status, 404, "{handle}");
    }
}

#[tokio::test]
async fn a_stored_handle_wins_without_any_lookup() {
    let (app, queries) = app_with_dns(HashMap::new()).await;
    let body = json!({"did": "did:plc:erin", "type": "person", "name": "Erin", "handle": "erin.rhiz.test"});
    assert_eq!(
        app.call("POST", "/api/v1/entities", Some(body))
            .await
            .status,
        201
    );
    let reply = app
        .call("GET", "/api/v1/entities/by-handle/erin.rhiz.test", None)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(queries.load(Ordering::SeqCst), 0);
}
