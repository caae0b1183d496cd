//! Two cache instances on one Redis: invalidations travel between them.

use std::time::{Duration, Instant};

use rhiz_cache::{Cache, Invalidation, KeyClass, Placement};

use crate::support::{builder, eventually, namespace, subscribed};

async fn instance(ns: &str) -> Cache {
    let cache = builder(ns)
        .class(KeyClass::new("local", Some(Duration::from_secs(30))).placement(Placement::L1))
        .class(KeyClass::new("both", Some(Duration::from_secs(30))))
        .build()
        .unwrap();
    subscribed(&cache).await;
    cache
}

#[tokio::test]
async fn an_invalidation_on_one_instance_drops_the_others_l1_copy_within_100_ms() {
    let ns = namespace("peers");
    let (a, b) = (instance(&ns).await, instance(&ns).await);
    for what in [
        Invalidation::key("local", "k"),
        Invalidation::Tag("did:plc:k".into()),
        Invalidation::Tags(vec!["did:plc:other".into(), "did:plc:k".into()]),
        Invalidation::Pattern("local:*".into()),
    ] {
        a.set("local", "k", &"a's copy", &["did:plc:k"])
            .await
            .unwrap();
        b.set("local", "k", &"b's copy", &["did:plc:k"])
            .await
            .unwrap();
        let sent = Instant::now();
        a.invalidate(what.clone()).await;
        eventually(Duration::from_secs(2), "b to drop its copy", || {
            futures_util::FutureExt::now_or_never(b.get::<String>("local", "k"))
                .expect("L1-only lookups do not wait")
                .unwrap()
                .is_none()
        })
        .await;
        let delay = sent.elapsed();
        assert!(
            delay < Duration::from_millis(100),
            "{what:?} reached b after {delay:?}"
        );
        println!("{what:?}: peer L1 dropped after {delay:?}");
    }
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.invalidations_sent, 4);
    assert_eq!(sb.invalidations_received, 4);
    assert_eq!(sa.invalidations_received, 0, "own messages are ignored");
}

#[tokio::test]
async fn a_value_changed_through_one_instance_is_served_changed_by_the_other() {
    let ns = namespace("change");
    let (a, b) = (instance(&ns).await, instance(&ns).await);
    a.set("both", "profile", &"v1", &["did:plc:p"])
        .await
        .unwrap();
    assert_eq!(
        b.get::<String>("both", "profile").await.unwrap().as_deref(),
        Some("v1")
    );
    assert_eq!(
        b.get::<String>("both", "profile").await.unwrap().as_deref(),
        Some("v1")
    );
    assert_eq!(
        b.stats().classes["both"].l1_hits,
        1,
        "b holds its own L1 copy"
    );

    let changed = Instant::now();
    a.invalidate(Invalidation::Tag("did:plc:p".into())).await;
    a.set("both", "profile", &"v2", &["did:plc:p"])
        .await
        .unwrap();
    let mut seen = None;
    while changed.elapsed() < Duration::from_secs(2) {
        seen = b.get::<String>("both", "profile").await.unwrap();
        if seen.as_deref() == Some("v2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let delay = changed.elapsed();
    assert_eq!(seen.as_deref(), Some("v2"));
    assert!(
        delay < Duration::from_millis(100),
        "b served the change after {delay:?}"
    );
}
