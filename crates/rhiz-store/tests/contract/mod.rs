//! The conformance suite: what every [`Store`] backend must do, written once
//! against `dyn Store`. Each backend's test target runs every case through
//! [`contract_suite!`] with its own harness, which hands a case a fresh store
//! and the URL it was opened from.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rhiz_protocol::{AtUri, Cid, Did, Handle};
use rhiz_store::{
    AttestationEdge, AttestationHead, Entity, EntityCensus, EntityPatch, NewEntity,
    RelationshipEdge, RelationshipHead, Store, StoreError, StoreWrite, StoredAttestation,
    StoredRelationship, TrustSnapshot,
};
use serde_json::json;

/// Expands to one `#[tokio::test]` per contract case, each run through
/// `$run(case)`, where `$run` gives the case a fresh store and its URL.
macro_rules! contract_suite {
    ($run:path) => {
        contract::contract_suite!(@cases $run;
            create_and_get_entity,
            get_missing_entity_is_none,
            entity_by_handle_ignores_case,
            duplicate_did_is_conflict,
            taken_handle_is_conflict,
            update_entity_sets_each_field,
            update_entity_clears_optional_fields,
            empty_patch_only_refreshes_updated_at,
            update_to_taken_handle_is_conflict_and_changes_nothing,
            update_missing_entity_is_not_found,
            delete_entity,
            entities_survive_reopen,
            timestamps_round_trip_at_microsecond_precision,
            upsert_relationship_replaces_the_stored_version,
            list_relationships_pages_by_uri,
            write_batch_applies_in_order_and_reports_changes,
            batched_reads_answer_in_order,
            edges_are_the_graph_columns,
            entity_census_lists_every_entity_and_counts_the_verified,
            delete_relationship_keeps_attestations,
            attestations_newest_first_ties_by_uri_desc,
            upsert_attestation_replaces_and_delete_reports,
            latest_trust_snapshot,
            state_get_put_overwrite,
            concurrent_creates_of_one_handle_have_one_winner,
            ping_answers_until_closed,
            bad_urls_are_invalid_url,
        );
    };
    (@cases $run:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $run(contract::$case).await;
            }
        )*
    };
}
pub(crate) use contract_suite;

// ---------------------------------------------------------------- fixtures

fn did(name: &str) -> Did {
    format!("did:plc:{name}").parse().expect("valid DID")
}

fn handle(text: &str) -> Handle {
    text.parse().expect("valid handle")
}

fn rel_uri(author: &str, rkey: &str) -> AtUri {
    format!("at://did:plc:{author}/net.rhiz.relationship.record/{rkey}")
        .parse()
        .expect("valid AT-URI")
}

fn att_uri(author: &str, rkey: &str) -> AtUri {
    format!("at://did:plc:{author}/net.rhiz.relationship.attestation/{rkey}")
        .parse()
        .expect("valid AT-URI")
}

const CIDS: [&str; 3] = [
    "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
    "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
    "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
];

fn cid(n: usize) -> Cid {
    CIDS[n].parse().expect("valid CID")
}

/// A fixed instant plus `seconds`, with a sub-microsecond part that the
/// store must truncate.
fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, 20, 12, 0, 0).unwrap()
        + Duration::seconds(seconds)
        + Duration::nanoseconds(123_456_789)
}

/// `at` as the store keeps it.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

fn new_entity(name: &str, handle_text: Option<&str>) -> NewEntity {
    NewEntity {
        did: did(name),
        handle: handle_text.map(handle),
        name: format!("Entity {name}"),
        entity_type: "person".into(),
        bio: None,
        avatar_url: None,
        profile_uri: None,
        profile_cid: None,
        created_at: at(0),
    }
}

fn relationship(author: &str, rkey: &str, other: &str) -> StoredRelationship {
    StoredRelationship {
        uri: rel_uri(author, rkey),
        cid: cid(0),
        author: did(author),
        participants: [did(author), did(other)],
        rel_type: "professional".into(),
        strength: 80,
        context: format!("{author} and {other}"),
        visibility: "public".into(),
        allow_discovery: true,
        allow_attestation: true,
        started_at: at(-86_400),
        last_interaction_at: at(-60),
        created_at: at(0),
        indexed_at: at(5),
        record: json!({
            "$type": "net.rhiz.relationship.record",
            "participants": [did(author).as_str(), did(other).as_str()],
            "type": "professional",
            "strength": 80,
            "privacy": {"visibility": "public", "consent": "full"},
            "temporal": {"history": [{"strength": 70, "event": "met"}]},
        })
        .into(),
        signed: [true, false],
        strength_deviation: 5,
    }
}

fn attestation(attester: &str, rkey: &str, target: &AtUri, created: i64) -> StoredAttestation {
    StoredAttestation {
        uri: att_uri(attester, rkey),
        cid: cid(1),
        attester: did(attester),
        target: target.clone(),
        attestation_type: "verify".into(),
        confidence: 90,
        evidence: Some("worked together".into()),
        suggested_strength: None,
        created_at: at(created),
        indexed_at: at(created + 1),
        record: json!({"attestationType": "verify", "confidence": 90}).into(),
    }
}

/// `rel` as the store gives it back: timestamps at microsecond precision.
fn stored(rel: &StoredRelationship) -> StoredRelationship {
    StoredRelationship {
        started_at: micros(rel.started_at),
        last_interaction_at: micros(rel.last_interaction_at),
        created_at: micros(rel.created_at),
        indexed_at: micros(rel.indexed_at),
        ..rel.clone()
    }
}

/// The relationships `did` takes part in, ordered by URI: what the server
/// asks its in-memory graph (the store keeps no index by participant).
async fn relationships_of(store: &dyn Store, did: &Did) -> Vec<StoredRelationship> {
    let all = store.list_relationships(None, 10_000).await.unwrap();
    all.into_iter()
        .filter(|r| r.participants.contains(did))
        .collect()
}

fn uris(rels: &[StoredRelationship]) -> Vec<String> {
    rels.iter().map(|r| r.uri.to_string()).collect()
}

/// Alice, with every optional field set.
fn full_new_entity() -> NewEntity {
    NewEntity {
        bio: Some("Gardener".into()),
        avatar_url: Some("https://example.com/a.png".into()),
        profile_uri: Some(
            "at://did:plc:alice/net.rhiz.entity.profile/self"
                .parse()
                .unwrap(),
        ),
        profile_cid: Some(cid(2)),
        ..new_entity("alice", Some("alice.example.com"))
    }
}

async fn create(store: &dyn Store, name: &str, handle_text: Option<&str>) -> Entity {
    store
        .create_entity(&new_entity(name, handle_text))
        .await
        .expect("create entity")
}

// ---------------------------------------------------------------- entities

pub(crate) async fn create_and_get_entity(store: Arc<dyn Store>, _url: String) {
    let new = full_new_entity();
    let created = store.create_entity(&new).await.unwrap();
    let expected = Entity {
        did: new.did.clone(),
        handle: new.handle.clone(),
        name: new.name.clone(),
        entity_type: "person".into(),
        bio: new.bio.clone(),
        avatar_url: new.avatar_url.clone(),
        profile_uri: new.profile_uri.clone(),
        profile_cid: new.profile_cid.clone(),
        verified: false,
        created_at: micros(new.created_at),
        updated_at: micros(new.created_at),
    };
    assert_eq!(created, expected);
    assert_eq!(store.get_entity(&new.did).await.unwrap(), Some(expected));
}

pub(crate) async fn get_missing_entity_is_none(store: Arc<dyn Store>, _url: String) {
    create(&*store, "alice", None).await;
    assert_eq!(store.get_entity(&did("bob")).await.unwrap(), None);
    assert_eq!(
        store
            .get_entity_by_handle(&handle("bob.example.com"))
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn entity_by_handle_ignores_case(store: Arc<dyn Store>, _url: String) {
    let created = create(&*store, "alice", Some("Alice.Example.COM")).await;
    assert_eq!(
        created.handle.as_ref().map(Handle::as_str),
        Some("alice.example.com"),
        "handles are stored lowercased"
    );
    for spelling in [
        "alice.example.com",
        "ALICE.EXAMPLE.COM",
        "aLiCe.ExAmPlE.cOm",
    ] {
        let found = store.get_entity_by_handle(&handle(spelling)).await.unwrap();
        assert_eq!(found.as_ref(), Some(&created), "lookup by {spelling}");
    }
}

pub(crate) async fn duplicate_did_is_conflict(store: Arc<dyn Store>, _url: String) {
    create(&*store, "alice", Some("alice.example.com")).await;
    // Same DID with a free handle, and with its own (taken) handle: the DID
    // conflict is what is reported either way.
    for handle_text in [Some("other.example.com"), Some("alice.example.com"), None] {
        let err = store
            .create_entity(&new_entity("alice", handle_text))
            .await
            .unwrap_err();
        match err {
            StoreError::Conflict { field, value } => {
                assert_eq!(field, "did", "{handle_text:?}");
                assert_eq!(value, "did:plc:alice");
            }
            other => panic!("expected a DID conflict, got {other:?}"),
        }
    }
    assert!(store
        .get_entity_by_handle(&handle("other.example.com"))
        .await
        .unwrap()
        .is_none());
}

pub(crate) async fn taken_handle_is_conflict(store: Arc<dyn Store>, _url: String) {
    create(&*store, "alice", Some("alice.example.com")).await;
    let err = store
        .create_entity(&new_entity("bob", Some("ALICE.example.com")))
        .await
        .unwrap_err();
    match err {
        StoreError::Conflict { field, value } => {
            assert_eq!(field, "handle");
            assert_eq!(value, "alice.example.com");
        }
        other => panic!("expected a handle conflict, got {other:?}"),
    }
    assert_eq!(store.get_entity(&did("bob")).await.unwrap(), None);
    // Entities without a handle never collide.
    create(&*store, "carol", None).await;
    create(&*store, "dave", None).await;
}

/// How a patch step should change the expected entity.
type ExpectedChange = dyn Fn(&mut Entity) + Send;

pub(crate) async fn update_entity_sets_each_field(store: Arc<dyn Store>, _url: String) {
    let original = create(&*store, "alice", Some("alice.example.com")).await;
    let profile_uri: AtUri = "at://did:plc:alice/net.rhiz.entity.profile/self"
        .parse()
        .unwrap();
    let steps: Vec<(EntityPatch, Box<ExpectedChange>)> = vec![
        (
            EntityPatch {
                name: Some("Alice A.".into()),
                ..EntityPatch::default()
            },
            Box::new(|e| e.name = "Alice A.".into()),
        ),
        (
            EntityPatch {
                bio: Some(Some("Gardener".into())),
                ..EntityPatch::default()
            },
            Box::new(|e| e.bio = Some("Gardener".into())),
        ),
        (
            EntityPatch {
                avatar_url: Some(Some("https://example.com/a.png".into())),
                ..EntityPatch::default()
            },
            Box::new(|e| e.avatar_url = Some("https://example.com/a.png".into())),
        ),
        (
            EntityPatch {
                handle: Some(Some(handle("Alice.Example.ORG"))),
                ..EntityPatch::default()
            },
            Box::new(|e| e.handle = Some(handle("alice.example.org"))),
        ),
        (
            EntityPatch {
                profile_uri: Some(Some(profile_uri.clone())),
                ..EntityPatch::default()
            },
            Box::new(move |e| e.profile_uri = Some(profile_uri.clone())),
        ),
        (
            EntityPatch {
                entity_type: Some("organization".into()),
                ..EntityPatch::default()
            },
            Box::new(|e| e.entity_type = "organization".into()),
        ),
        (
            EntityPatch {
                profile_cid: Some(Some(cid(1))),
                ..EntityPatch::default()
            },
            Box::new(|e| e.profile_cid = Some(cid(1))),
        ),
    ];
    let mut expected = original.clone();
    for (i, (patch, change)) in steps.into_iter().enumerate() {
        let now = at(100 + i64::try_from(i).unwrap());
        change(&mut expected);
        expected.updated_at = micros(now);
        let updated = store
            .update_entity(&expected.did, &patch, now)
            .await
            .unwrap();
        assert_eq!(updated, expected, "after patch {i}: {patch:?}");
        assert_eq!(
            store.get_entity(&expected.did).await.unwrap().as_ref(),
            Some(&expected)
        );
    }
    assert_eq!(expected.created_at, original.created_at);
    assert!(!expected.verified);
    // The old handle is free again, the new one finds the entity.
    assert!(store
        .get_entity_by_handle(&handle("alice.example.com"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .get_entity_by_handle(&handle("alice.example.org"))
            .await
            .unwrap(),
        Some(expected)
    );
}

pub(crate) async fn update_entity_clears_optional_fields(store: Arc<dyn Store>, _url: String) {
    let new = full_new_entity();
    store.create_entity(&new).await.unwrap();
    let patch = EntityPatch {
        name: None,
        entity_type: None,
        bio: Some(None),
        avatar_url: Some(None),
        handle: Some(None),
        profile_uri: Some(None),
        profile_cid: Some(None),
    };
    let updated = store.update_entity(&new.did, &patch, at(50)).await.unwrap();
    assert_eq!(updated.name, new.name);
    assert_eq!(updated.bio, None);
    assert_eq!(updated.avatar_url, None);
    assert_eq!(updated.handle, None);
    assert_eq!(updated.profile_uri, None);
    assert_eq!(updated.profile_cid, None);
    assert_eq!(updated.updated_at, micros(at(50)));
    assert_eq!(store.get_entity(&new.did).await.unwrap(), Some(updated));
    // The cleared handle can be taken by someone else.
    create(&*store, "bob", Some("alice.example.com")).await;
}

pub(crate) async fn empty_patch_only_refreshes_updated_at(store: Arc<dyn Store>, _url: String) {
    let original = create(&*store, "alice", Some("alice.example.com")).await;
    let updated = store
        .update_entity(&original.did, &EntityPatch::default(), at(3600))
        .await
        .unwrap();
    assert_eq!(
        updated,
        Entity {
            updated_at: micros(at(3600)),
            ..original
        }
    );
}

pub(crate) async fn update_to_taken_handle_is_conflict_and_changes_nothing(
    store: Arc<dyn Store>,
    _url: String,
) {
    create(&*store, "alice", Some("alice.example.com")).await;
    let bob = create(&*store, "bob", Some("bob.example.com")).await;
    let patch = EntityPatch {
        name: Some("Bob B.".into()),
        handle: Some(Some(handle("Alice.example.com"))),
        ..EntityPatch::default()
    };
    match store.update_entity(&bob.did, &patch, at(10)).await {
        Err(StoreError::Conflict { field, value }) => {
            assert_eq!(field, "handle");
            assert_eq!(value, "alice.example.com");
        }
        other => panic!("expected a handle conflict, got {other:?}"),
    }
    assert_eq!(store.get_entity(&bob.did).await.unwrap(), Some(bob.clone()));
    // Keeping one's own handle is no conflict.
    let patch = EntityPatch {
        handle: Some(Some(handle("BOB.example.com"))),
        ..EntityPatch::default()
    };
    let updated = store.update_entity(&bob.did, &patch, at(11)).await.unwrap();
    assert_eq!(updated.handle, bob.handle);
}

pub(crate) async fn update_missing_entity_is_not_found(store: Arc<dyn Store>, _url: String) {
    let patch = EntityPatch {
        name: Some("Nobody".into()),
        ..EntityPatch::default()
    };
    match store.update_entity(&did("nobody"), &patch, at(0)).await {
        Err(StoreError::NotFound { what, key }) => {
            assert_eq!(what, "entity");
            assert_eq!(key, "did:plc:nobody");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.get_entity(&did("nobody")).await.unwrap(), None);
}

pub(crate) async fn delete_entity(store: Arc<dyn Store>, _url: String) {
    let alice = create(&*store, "alice", Some("alice.example.com")).await;
    create(&*store, "bob", None).await;
    let rel = relationship("alice", "rel1", "bob");
    store.upsert_relationship(&rel).await.unwrap();

    store.delete_entity(&alice.did).await.unwrap();
    assert_eq!(store.get_entity(&alice.did).await.unwrap(), None);
    assert!(store.get_entity(&did("bob")).await.unwrap().is_some());
    // Relationships naming it stay: they live in AT Protocol repos.
    assert_eq!(
        store.get_relationship(&rel.uri).await.unwrap(),
        Some(stored(&rel))
    );
    match store.delete_entity(&alice.did).await {
        Err(StoreError::NotFound {
            what: "entity",
            key,
        }) => assert_eq!(key, "did:plc:alice"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // Its handle is free again.
    create(&*store, "carol", Some("alice.example.com")).await;
}

pub(crate) async fn entities_survive_reopen(store: Arc<dyn Store>, url: String) {
    let alice = create(&*store, "alice", Some("alice.example.com")).await;
    let rel = relationship("alice", "rel1", "bob");
    store.upsert_relationship(&rel).await.unwrap();
    store.put_state("cursor", "42").await.unwrap();
    store.close().await;

    let reopened = rhiz_store::open(&url).await.expect("reopen");
    assert_eq!(reopened.backend(), store.backend());
    assert_eq!(reopened.get_entity(&alice.did).await.unwrap(), Some(alice));
    assert_eq!(
        reopened.get_relationship(&rel.uri).await.unwrap(),
        Some(stored(&rel))
    );
    assert_eq!(
        reopened.get_state("cursor").await.unwrap().as_deref(),
        Some("42")
    );
    reopened.close().await;
}

pub(crate) async fn timestamps_round_trip_at_microsecond_precision(
    store: Arc<dyn Store>,
    _url: String,
) {
    let instants = [
        Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap()
            + Duration::nanoseconds(999_999_999),
        Utc.with_ymd_and_hms(2000, 2, 29, 12, 30, 45).unwrap() + Duration::nanoseconds(1_001),
        at(0),
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
            + Duration::nanoseconds(999_999_000),
    ];
    for (i, instant) in instants.into_iter().enumerate() {
        let mut new = new_entity(&format!("t{i}"), None);
        new.created_at = instant;
        let created = store.create_entity(&new).await.unwrap();
        let read = store.get_entity(&new.did).await.unwrap().unwrap();
        assert_eq!(read.created_at, micros(instant), "{instant:?}");
        assert_eq!(read.created_at, created.created_at);
        assert_eq!(read.updated_at, created.updated_at);

        let mut rel = relationship(&format!("t{i}"), "rel1", "bob");
        rel.started_at = instant;
        rel.last_interaction_at = instant;
        rel.created_at = instant;
        rel.indexed_at = instant;
        store.upsert_relationship(&rel).await.unwrap();
        let read = store.get_relationship(&rel.uri).await.unwrap().unwrap();
        for (name, value) in [
            ("started_at", read.started_at),
            ("last_interaction_at", read.last_interaction_at),
            ("created_at", read.created_at),
            ("indexed_at", read.indexed_at),
        ] {
            assert_eq!(value, micros(instant), "{name} of {instant:?}");
        }
    }
}

// ----------------------------------------------------------- relationships

pub(crate) async fn upsert_relationship_replaces_the_stored_version(
    store: Arc<dyn Store>,
    _url: String,
) {
    assert_eq!(
        store
            .get_relationship(&rel_uri("alice", "rel1"))
            .await
            .unwrap(),
        None
    );
    let first = relationship("alice", "rel1", "bob");
    store.upsert_relationship(&first).await.unwrap();
    let read = store.get_relationship(&first.uri).await.unwrap().unwrap();
    assert_eq!(read.record, first.record);
    assert_eq!(
        read.record.to_value().to_string().len(),
        first.record.to_value().to_string().len()
    );
    assert_eq!(read, stored(&first));

    // A new version: new CID, strength, privacy, and a different second
    // participant.
    let second = StoredRelationship {
        cid: cid(1),
        participants: [did("alice"), did("carol")],
        strength: 35,
        rel_type: "personal".into(),
        context: "changed".into(),
        visibility: "private".into(),
        allow_discovery: false,
        allow_attestation: false,
        indexed_at: at(500),
        record:
            json!({"type": "personal", "strength": 35, "nested": {"list": [1, 2.5, null, "x"]}})
                .into(),
        signed: [false, true],
        strength_deviation: 0,
        ..first.clone()
    };
    store.upsert_relationship(&second).await.unwrap();
    let read = store.get_relationship(&second.uri).await.unwrap().unwrap();
    assert_eq!(read.cid, cid(1), "the latest CID wins");
    assert_eq!(read.participants, [did("alice"), did("carol")]);
    assert_eq!(read.strength, 35);
    assert_eq!(read.rel_type, "personal");
    assert_eq!(read.context, "changed");
    assert_eq!(read.visibility, "private");
    assert!(!read.allow_discovery && !read.allow_attestation);
    assert_eq!(read.indexed_at, micros(at(500)));
    assert_eq!(read.record, second.record);

    // Participants moved with it.
    assert!(relationships_of(&*store, &did("bob")).await.is_empty());
    assert_eq!(
        uris(&relationships_of(&*store, &did("carol")).await),
        [second.uri.to_string()]
    );
    assert_eq!(store.list_relationships(None, 10).await.unwrap().len(), 1);
}

pub(crate) async fn list_relationships_pages_by_uri(store: Arc<dyn Store>, _url: String) {
    assert!(store.list_relationships(None, 10).await.unwrap().is_empty());
    // Upper- and lower-case record keys: ordering is by bytes on every
    // backend ('Z' < 'a').
    let rkeys = ["b", "a", "Z", "c", "a0"];
    for rkey in rkeys {
        store
            .upsert_relationship(&relationship("alice", rkey, "bob"))
            .await
            .unwrap();
    }
    let expected = sorted(rkeys.iter().map(|rkey| rel_uri("alice", rkey)));
    let pages = |after: Option<AtUri>, limit| {
        let store = Arc::clone(&store);
        async move {
            uris(
                &store
                    .list_relationships(after.as_ref(), limit)
                    .await
                    .unwrap(),
            )
        }
    };
    assert_pages_cover(pages, &expected).await;
}

pub(crate) async fn write_batch_applies_in_order_and_reports_changes(
    store: Arc<dyn Store>,
    _url: String,
) {
    let kept = relationship("alice", "rel1", "bob");
    let gone = relationship("alice", "rel2", "carol");
    let att = attestation("dave", "att1", &kept.uri, 10);
    let unknown = rel_uri("nobody", "rel9");
    let changed = store
        .write_batch(&[
            StoreWrite::UpsertRelationship(&kept),
            StoreWrite::UpsertRelationship(&gone),
            StoreWrite::UpsertAttestation(&att),
            StoreWrite::DeleteRelationship(&gone.uri),
            StoreWrite::DeleteRelationship(&unknown),
            StoreWrite::DeleteAttestation(&unknown),
        ])
        .await
        .unwrap();
    assert_eq!(changed, [true, true, true, true, false, false]);
    assert_eq!(
        store.get_relationship(&kept.uri).await.unwrap(),
        Some(stored(&kept))
    );
    assert_eq!(store.get_relationship(&gone.uri).await.unwrap(), None);
    assert!(relationships_of(&*store, &did("carol")).await.is_empty());
    assert_eq!(store.attestations_for(&kept.uri).await.unwrap().len(), 1);
    assert!(store.write_batch(&[]).await.unwrap().is_empty());
}

pub(crate) async fn batched_reads_answer_in_order(store: Arc<dyn Store>, _url: String) {
    let first = relationship("alice", "rel1", "bob");
    let second = relationship("carol", "rel2", "dave");
    let att = attestation("erin", "att1", &first.uri, 10);
    let unknown = rel_uri("nobody", "rel9");
    store
        .write_batch(&[
            StoreWrite::UpsertRelationship(&first),
            StoreWrite::UpsertRelationship(&second),
            StoreWrite::UpsertAttestation(&att),
        ])
        .await
        .unwrap();
    let found = store
        .relationship_heads(&[second.uri.clone(), unknown.clone(), first.uri.clone()])
        .await
        .unwrap();
    assert_eq!(
        found,
        [
            Some(RelationshipHead::from(&second)),
            None,
            Some(RelationshipHead::from(&first))
        ]
    );
    let found = store
        .attestation_heads(&[unknown, att.uri.clone()])
        .await
        .unwrap();
    assert_eq!(found, [None, Some(AttestationHead::from(&att))]);
    assert!(store.relationship_heads(&[]).await.unwrap().is_empty());
    let alice = create(&*store, "alice", None).await;
    let found = store
        .get_entities(&[did("nobody"), alice.did.clone()])
        .await
        .unwrap();
    assert_eq!(found, [None, Some(alice)]);
}

pub(crate) async fn entity_census_lists_every_entity_and_counts_the_verified(
    store: Arc<dyn Store>,
    _url: String,
) {
    assert_eq!(
        store.entity_census().await.unwrap(),
        EntityCensus::default()
    );
    for name in ["alice", "bob", "carol"] {
        create(&*store, name, None).await;
    }
    let sorted_dids = |census: EntityCensus| {
        let mut dids = census.dids;
        dids.sort();
        (dids, census.verified)
    };
    let census = store.entity_census().await.unwrap();
    assert_eq!(
        sorted_dids(census),
        (vec![did("alice"), did("bob"), did("carol")], 0)
    );
    store.delete_entity(&did("bob")).await.unwrap();
    let census = store.entity_census().await.unwrap();
    assert_eq!(sorted_dids(census), (vec![did("alice"), did("carol")], 0));
}

pub(crate) async fn edges_are_the_graph_columns(store: Arc<dyn Store>, _url: String) {
    let open = relationship("alice", "rel1", "bob");
    let hidden = StoredRelationship {
        visibility: "network".into(),
        ..relationship("carol", "rel2", "dave")
    };
    let att = attestation("erin", "att1", &open.uri, 10);
    store
        .write_batch(&[
            StoreWrite::UpsertRelationship(&hidden),
            StoreWrite::UpsertRelationship(&open),
            StoreWrite::UpsertAttestation(&att),
        ])
        .await
        .unwrap();
    let mut edges = store.relationship_edges().await.unwrap();
    edges.sort_by(|a, b| a.uri.cmp(&b.uri));
    let expected = |rel: &StoredRelationship, discoverable| RelationshipEdge {
        uri: rel.uri.clone(),
        cid: rel.cid.clone(),
        participants: rel.participants.clone(),
        rel_type: rel.rel_type.clone(),
        strength: rel.strength,
        discoverable,
        last_interaction_at: micros(rel.last_interaction_at),
        signed: rel.signed,
        strength_deviation: rel.strength_deviation,
    };
    assert_eq!(edges, [expected(&open, true), expected(&hidden, false)]);

    let edges = store.attestation_edges().await.unwrap();
    assert_eq!(
        edges,
        [AttestationEdge {
            uri: att.uri.clone(),
            attester: att.attester.clone(),
            target: open.uri.clone(),
            attestation_type: att.attestation_type.clone(),
            confidence: att.confidence,
            created_at: micros(att.created_at),
        }]
    );
}

fn sorted(uris: impl Iterator<Item = AtUri>) -> Vec<String> {
    let mut uris: Vec<String> = uris.map(|uri| uri.to_string()).collect();
    uris.sort();
    uris
}

/// Walks keyset pages of 2 and checks they return `expected` in order, once
/// each; and that a limit of 0 returns nothing and a large one everything.
async fn assert_pages_cover<F, Fut>(page: F, expected: &[String])
where
    F: Fn(Option<AtUri>, u32) -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let mut seen = Vec::new();
    let mut after: Option<AtUri> = None;
    loop {
        let uris = page(after.clone(), 2).await;
        assert!(uris.len() <= 2);
        let Some(last) = uris.last() else { break };
        after = Some(last.parse().unwrap());
        seen.extend(uris);
    }
    assert_eq!(seen, expected);
    assert!(page(None, 0).await.is_empty());
    assert_eq!(page(None, 100).await, expected);
}

pub(crate) async fn delete_relationship_keeps_attestations(store: Arc<dyn Store>, _url: String) {
    let rel = relationship("alice", "rel1", "bob");
    let other = relationship("alice", "rel2", "bob");
    store.upsert_relationship(&rel).await.unwrap();
    store.upsert_relationship(&other).await.unwrap();
    let att = attestation("carol", "att1", &rel.uri, 10);
    store.upsert_attestation(&att).await.unwrap();

    assert!(store.delete_relationship(&rel.uri).await.unwrap());
    assert_eq!(store.get_relationship(&rel.uri).await.unwrap(), None);
    assert_eq!(
        uris(&relationships_of(&*store, &did("bob")).await),
        [other.uri.to_string()]
    );
    assert!(
        !store.delete_relationship(&rel.uri).await.unwrap(),
        "second delete"
    );
    assert!(!store
        .delete_relationship(&rel_uri("nobody", "x"))
        .await
        .unwrap());

    let kept = store.attestations_for(&rel.uri).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].uri, att.uri);
    assert!(store.get_attestation(&att.uri).await.unwrap().is_some());

    // Re-indexing the relationship brings it back with its participants.
    store.upsert_relationship(&rel).await.unwrap();
    assert_eq!(relationships_of(&*store, &did("bob")).await.len(), 2);
}

// ------------------------------------------------------------ attestations

pub(crate) async fn attestations_newest_first_ties_by_uri_desc(
    store: Arc<dyn Store>,
    _url: String,
) {
    let target = rel_uri("alice", "rel1");
    let elsewhere = rel_uri("alice", "rel2");
    // Attestations may arrive before (or without) their relationship.
    for att in [
        attestation("carol", "a", &target, 10),
        attestation("dave", "a", &target, 30),
        attestation("erin", "b", &target, 30),
        attestation("erin", "a", &target, 30),
        attestation("frank", "a", &target, -5),
        attestation("carol", "z", &elsewhere, 100),
    ] {
        store.upsert_attestation(&att).await.unwrap();
    }
    let got: Vec<String> = store
        .attestations_for(&target)
        .await
        .unwrap()
        .iter()
        .map(|a| a.uri.to_string())
        .collect();
    assert_eq!(
        got,
        [
            att_uri("erin", "b").to_string(),
            att_uri("erin", "a").to_string(),
            att_uri("dave", "a").to_string(),
            att_uri("carol", "a").to_string(),
            att_uri("frank", "a").to_string(),
        ]
    );
    // Microsecond-close timestamps still order correctly.
    let mut close = attestation("gina", "a", &target, 30);
    close.created_at = micros(at(30)) + Duration::microseconds(1);
    store.upsert_attestation(&close).await.unwrap();
    assert_eq!(
        store.attestations_for(&target).await.unwrap()[0].uri,
        close.uri
    );
    assert!(store
        .attestations_for(&rel_uri("nobody", "x"))
        .await
        .unwrap()
        .is_empty());
}

pub(crate) async fn upsert_attestation_replaces_and_delete_reports(
    store: Arc<dyn Store>,
    _url: String,
) {
    let target = rel_uri("alice", "rel1");
    let first = attestation("carol", "att1", &target, 10);
    assert_eq!(store.get_attestation(&first.uri).await.unwrap(), None);
    store.upsert_attestation(&first).await.unwrap();
    assert_eq!(
        store.get_attestation(&first.uri).await.unwrap(),
        Some(StoredAttestation {
            created_at: micros(first.created_at),
            indexed_at: micros(first.indexed_at),
            ..first.clone()
        })
    );

    let second = StoredAttestation {
        cid: cid(2),
        attestation_type: "strengthen".into(),
        confidence: 55,
        evidence: None,
        suggested_strength: Some(95),
        indexed_at: at(99),
        record: json!({"attestationType": "strengthen", "suggestedStrength": 95}).into(),
        ..first.clone()
    };
    store.upsert_attestation(&second).await.unwrap();
    let read = store.get_attestation(&first.uri).await.unwrap().unwrap();
    assert_eq!(read.cid, cid(2));
    assert_eq!(read.attestation_type, "strengthen");
    assert_eq!(read.confidence, 55);
    assert_eq!(read.evidence, None);
    assert_eq!(read.suggested_strength, Some(95));
    assert_eq!(read.indexed_at, micros(at(99)));
    assert_eq!(read.record, second.record);
    assert_eq!(store.attestations_for(&target).await.unwrap(), [read]);

    assert!(store.delete_attestation(&first.uri).await.unwrap());
    assert!(!store.delete_attestation(&first.uri).await.unwrap());
    assert_eq!(store.get_attestation(&first.uri).await.unwrap(), None);
    assert!(store.attestations_for(&target).await.unwrap().is_empty());
}

// ------------------------------------------------------- trust and state

pub(crate) async fn latest_trust_snapshot(store: Arc<dyn Store>, _url: String) {
    assert_eq!(
        store.latest_trust_snapshot(&did("alice")).await.unwrap(),
        None
    );
    let snapshot = |score: u8, seconds: i64| TrustSnapshot {
        did: did("alice"),
        trust_score: score,
        reputation: 70,
        reciprocity: 60,
        consistency: 100,
        relationship_count: 4_000_000_000,
        verified_relationship_count: 3,
        calculated_at: at(seconds),
    };
    for snap in [snapshot(10, 100), snapshot(30, 300), snapshot(20, 200)] {
        store.put_trust_snapshot(&snap).await.unwrap();
    }
    let mut bob = snapshot(99, 1_000);
    bob.did = did("bob");
    store.put_trust_snapshot(&bob).await.unwrap();

    let latest = store
        .latest_trust_snapshot(&did("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        latest,
        TrustSnapshot {
            calculated_at: micros(at(300)),
            ..snapshot(30, 300)
        }
    );
    // Same instant again replaces that snapshot.
    store.put_trust_snapshot(&snapshot(31, 300)).await.unwrap();
    assert_eq!(
        store
            .latest_trust_snapshot(&did("alice"))
            .await
            .unwrap()
            .unwrap()
            .trust_score,
        31
    );
    assert_eq!(
        store
            .latest_trust_snapshot(&did("bob"))
            .await
            .unwrap()
            .unwrap()
            .trust_score,
        99
    );
}

pub(crate) async fn state_get_put_overwrite(store: Arc<dyn Store>, _url: String) {
    assert_eq!(store.get_state("jetstream.cursor").await.unwrap(), None);
    store.put_state("jetstream.cursor", "1").await.unwrap();
    store.put_state("other", "x").await.unwrap();
    store
        .put_state("jetstream.cursor", "1725911162329308")
        .await
        .unwrap();
    assert_eq!(
        store
            .get_state("jetstream.cursor")
            .await
            .unwrap()
            .as_deref(),
        Some("1725911162329308")
    );
    assert_eq!(
        store.get_state("other").await.unwrap().as_deref(),
        Some("x")
    );
    store.put_state("empty", "").await.unwrap();
    assert_eq!(store.get_state("empty").await.unwrap().as_deref(), Some(""));
}

// ------------------------------------------------- concurrency and health

pub(crate) async fn concurrent_creates_of_one_handle_have_one_winner(
    store: Arc<dyn Store>,
    _url: String,
) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let spelling = if i % 2 == 0 {
                    "shared.example.com"
                } else {
                    "SHARED.example.com"
                };
                store
                    .create_entity(&new_entity(&format!("racer{i}"), Some(spelling)))
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => winners += 1,
            Err(StoreError::Conflict {
                field: "handle",
                value,
            }) => {
                assert_eq!(value, "shared.example.com");
            }
            Err(other) => panic!("expected a handle conflict, got {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    assert!(store
        .get_entity_by_handle(&handle("shared.example.com"))
        .await
        .unwrap()
        .is_some());
}

pub(crate) async fn ping_answers_until_closed(store: Arc<dyn Store>, _url: String) {
    let rtt = store.ping().await.unwrap();
    assert!(rtt < std::time::Duration::from_secs(5), "{rtt:?}");
    store.close().await;
    match store.ping().await {
        Err(err @ StoreError::Unavailable { .. }) => assert!(err.is_retryable()),
        other => panic!("expected Unavailable after close, got {other:?}"),
    }
}

pub(crate) async fn bad_urls_are_invalid_url(store: Arc<dyn Store>, _url: String) {
    for url in [
        "mysql://root:hunter2@localhost/rhiz",
        "sqlite://",
        "rhiz.db",
        "",
    ] {
        match rhiz_store::open(url).await {
            Err(err @ StoreError::InvalidUrl { .. }) => {
                assert!(!err.to_string().contains("hunter2"), "{err}");
            }
            other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
        }
    }
    // The open store is unaffected.
    store.ping().await.unwrap();
}

// ------------------------------------------------------- schema upgrades

/// A relationship as schema version 1 stored it: its participants in the
/// `relationship_participants` table, not on the row. Each backend's tests
/// write it with their own SQL, then open the store (which migrates).
pub(crate) mod version_1 {
    /// The relationship's URI.
    pub(crate) const URI: &str = "at://did:plc:alice/net.rhiz.relationship.record/r1";
    /// Its CID.
    pub(crate) const CID: &str = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";
    /// Its participants, in order.
    pub(crate) const PARTICIPANTS: [&str; 2] = ["did:plc:alice", "did:plc:bob"];
    /// Its record: Bob signed; the strength went from 20 to 60.
    pub(crate) const RECORD: &str = r#"{"$type":"net.rhiz.relationship.record","participants":["did:plc:alice","did:plc:bob"],"type":"personal","strength":60,"context":"met","verification":{"consensusScore":50,"attestationCount":0,"lastUpdated":"2025-01-01T00:00:00Z"},"privacy":{"visibility":"public","consent":"full"},"temporal":{"start":"2025-01-01T00:00:00Z","lastInteraction":"2025-01-01T00:00:00Z","history":[{"timestamp":"2024-06-01T00:00:00Z","strength":20}]},"signatures":[{"did":"did:plc:bob","signature":"c2ln"}],"createdAt":"2025-01-01T00:00:00Z"}"#;
}

/// What a store opened on a version-1 database must read back of
/// [`version_1`]'s relationship once migrated: participants from the old
/// table, who signed and the strength deviation from the record.
pub(crate) async fn version_1_relationship_reads_back(store: &dyn Store) {
    let uri: AtUri = version_1::URI.parse().unwrap();
    let participants = version_1::PARTICIPANTS.map(|d| d.parse::<Did>().unwrap());
    let read = store.get_relationship(&uri).await.unwrap().expect("kept");
    assert_eq!(read.participants, participants);
    assert_eq!((read.signed, read.strength_deviation), ([false, true], 20));
    for did in &participants {
        let of = relationships_of(store, did).await;
        assert_eq!(uris(&of), [version_1::URI], "{did}");
    }
    let edges = store.relationship_edges().await.unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(
        (
            &edges[0].participants,
            edges[0].signed,
            edges[0].strength_deviation
        ),
        (&participants, [false, true], 20)
    );
}
