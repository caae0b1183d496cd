//! `rhiz gen`, `rhiz import` and `rhiz dlq` as real processes, and the crash
//! test: acknowledged events survive `kill -9` and are applied exactly once.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use rhiz_protocol::AtUri;
use serde_json::Value;
use support::events::{self, KEY};
use support::process::{Server, RHIZ};

/// Runs `rhiz` with `args`, no `RHIZ_*` from the outside, plus `env`.
fn rhiz(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(RHIZ);
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("RHIZ_")) {
        command.env_remove(key);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .env("RHIZ_LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run rhiz")
}

/// Every stored relationship: URI → (CID, strength).
async fn stored_relationships(data_dir: &Path) -> BTreeMap<String, (String, u8)> {
    let store = rhiz_store::open(&rhiz_store::sqlite_url_for_data_dir(data_dir))
        .await
        .unwrap();
    let mut all = BTreeMap::new();
    let mut after: Option<AtUri> = None;
    loop {
        let page = store
            .list_relationships(after.as_ref(), 5_000)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.uri.clone());
        for r in page {
            all.insert(r.uri.to_string(), (r.cid.to_string(), r.strength));
        }
    }
    store.close().await;
    all
}

#[tokio::test]
async fn generated_data_imports_offline_and_a_running_server_keeps_its_storage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("gen.ndjson");
    let sybils = dir.path().join("sybils.txt");
    let file_arg = file.to_str().unwrap();
    let output = rhiz(
        &[
            "gen",
            "--seed",
            "7",
            "--dids",
            "300",
            "--relationships",
            "1200",
            "--communities",
            "5",
            "--sybil-dids",
            "20",
            "--attack-edges",
            "3",
            "--now",
            "2026-11-01T00:00:00Z",
            "--output",
            file_arg,
            "--sybil-report",
            sybils.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&sybils).unwrap().lines().count(),
        20
    );
    let lines = std::fs::read_to_string(&file).unwrap();
    let relationship_lines = lines
        .lines()
        .filter(|l| l.contains("\"relationship.created\""))
        .count();

    // A bad line in the middle is reported with its number and skipped.
    let mut with_bad_line: Vec<&str> = lines.lines().collect();
    with_bad_line.insert(3, "{\"event_type\": \"relationship.created\"}");
    std::fs::write(&file, with_bad_line.join("\n")).unwrap();

    let data_arg = data.to_str().unwrap();
    let output = rhiz(&["import", file_arg, "--data-dir", data_arg], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("line 4: "), "{stderr}");
    assert!(stderr.contains("1 invalid"), "{stderr}");
    assert_eq!(stored_relationships(&data).await.len(), relationship_lines);

    // Importing the same file again changes nothing: every id is a duplicate.
    let output = rhiz(&["import", file_arg, "--data-dir", data_arg], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(" 0 accepted"), "{stderr}");

    // While a server holds the data directory, an offline import is refused;
    // through the server it works.
    let client = reqwest::Client::new();
    let server = Server::start_with(
        &data,
        Stdio::inherit(),
        "warn",
        &[("RHIZ_INTERNAL_API_KEY", KEY)],
    );
    server.wait_healthy(&client).await;
    // The offline import keeps no graph: the server builds it from the store.
    let stats = server
        .get_json(&client, "/api/v1/analytics/network-stats")
        .await;
    assert_eq!(stats["total_relationships"], relationship_lines, "{stats}");
    let output = rhiz(&["import", file_arg, "--data-dir", data_arg], &[]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("another rhiz process"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let extra = dir.path().join("extra.ndjson");
    let body = events::relationship("newcomer", "alice", 1, 77);
    std::fs::write(&extra, format!("{body}\n")).unwrap();
    let output = rhiz(
        &["import", extra.to_str().unwrap(), "--server", &server.base],
        &[("RHIZ_INTERNAL_API_KEY", KEY)],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("1 accepted"), "{stderr}");
    let dlq = rhiz(
        &["dlq", "list", "--server", &server.base],
        &[("RHIZ_INTERNAL_API_KEY", KEY)],
    );
    assert!(
        dlq.status.success(),
        "{}",
        String::from_utf8_lossy(&dlq.stderr)
    );
    let listed: Value = serde_json::from_slice(&dlq.stdout).unwrap();
    assert_eq!(listed["count"], 0);
    assert!(server.terminate().success());
    assert!(stored_relationships(&data)
        .await
        .contains_key(&events::relationship_uri("newcomer", 1)));
}

/// A file that cannot be opened is reported before any storage is made.
#[test]
fn a_missing_file_is_reported_and_touches_no_storage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let missing = dir.path().join("missing.ndjson");
    let output = rhiz(
        &[
            "import",
            missing.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("cannot open"), "{stderr}");
    assert!(stderr.contains("missing.ndjson"), "{stderr}");
    assert!(!data.exists(), "the data directory was made");
}

#[tokio::test]
async fn an_edge_list_imports_with_distrust_for_negative_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trust.csv");
    std::fs::write(
        &file,
        "source,target,rating,time\n1,2,4,1289241911\n2,3,-10,1289241912\n3,3,5,1289241913\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let output = rhiz(
        &[
            "import",
            file.to_str().unwrap(),
            "--format",
            "edges",
            "--scale",
            "rating",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 4: "),
        "the self-loop is reported: {stderr}"
    );
    let stored = stored_relationships(&data).await;
    assert_eq!(stored.len(), 2);
    let strengths: Vec<u8> = stored.values().map(|(_, s)| *s).collect();
    assert!(
        strengths.contains(&40) && strengths.contains(&100),
        "{strengths:?}"
    );
}

/// Events sent by the crash test; `RHIZ_CRASH_EVENTS` raises it (the
/// benchmark run uses 100,000).
fn crash_events() -> u64 {
    std::env::var("RHIZ_CRASH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

#[tokio::test]
async fn acknowledged_events_survive_kill_9_and_apply_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let env = [
        ("RHIZ_INTERNAL_API_KEY", KEY),
        ("RHIZ_EVENT_QUEUE_CAPACITY", "200000"),
        ("RHIZ_EVENT_LANE_CAPACITY", "200000"),
    ];
    let server = Server::start_with(dir.path(), Stdio::inherit(), "warn", &env);
    server.wait_healthy(&client).await;

    // Four producers send batches of relationship creates as fast as they
    // can; each event has its own record. Every event acknowledged
    // ("enqueued") is remembered with its CID and strength.
    let total = crash_events();
    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let producers: Vec<_> = (0..4u64)
        .map(|producer| {
            let client = client.clone();
            let url = format!("{}/internal/events/batch", server.base);
            let acknowledged = Arc::clone(&acknowledged);
            tokio::spawn(async move {
                let author = format!("crash{producer}");
                for start in (producer * total / 4..(producer + 1) * total / 4).step_by(500) {
                    let end = (start + 500).min((producer + 1) * total / 4);
                    let batch: Vec<Value> = (start..end)
                        .map(|n| events::relationship(&author, "target", n, (n % 101) as u8))
                        .collect();
                    let Ok(response) = client
                        .post(&url)
                        .header("x-internal-key", KEY)
                        .json(&batch)
                        .send()
                        .await
                    else {
                        return; // the server is gone
                    };
                    let Ok(body) = response.json::<Value>().await else {
                        return;
                    };
                    let mut acked = acknowledged.lock().unwrap();
                    for (n, result) in
                        (start..end).zip(body["results"].as_array().into_iter().flatten())
                    {
                        if result["status"] == "enqueued" {
                            acked.insert(events::relationship_uri(&author, n), (n % 101) as u8);
                        }
                    }
                }
            })
        })
        .collect();
    // Kill it mid-stream, once a share of the events is acknowledged.
    let target = (total / 3) as usize;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < target {
        assert!(
            std::time::Instant::now() < deadline,
            "too slow to reach {target} acknowledged events"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill_9();
    for producer in producers {
        producer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= target && (acknowledged.len() as u64) < total,
        "killed mid-stream: {}",
        acknowledged.len()
    );

    // Restart: recovery applies what was acknowledged and not yet applied.
    let server = Server::start_with(dir.path(), Stdio::inherit(), "warn", &env);
    server.wait_healthy(&client).await;
    let metrics_url = format!("{}/internal/events/metrics", server.base);
    loop {
        let metrics: Value = client
            .get(&metrics_url)
            .header("x-internal-key", KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if metrics["events_in_queue"] == 0 {
            assert_eq!(metrics["dead_letter_count"], 0, "{metrics}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(server.terminate().success());

    // Every acknowledged event is applied, with its content; anything else
    // stored is an event written whose acknowledgement was lost in the kill.
    let stored = stored_relationships(dir.path()).await;
    for (uri, strength) in &acknowledged {
        let (cid, stored_strength) = stored
            .get(uri)
            .unwrap_or_else(|| panic!("acknowledged {uri} lost"));
        assert_eq!(
            (cid.as_str(), *stored_strength),
            (events::CID, *strength),
            "{uri}"
        );
    }
    // Nothing beyond what was sent, and nothing acknowledged missing or
    // altered: one row per record, with the acknowledged content.
    assert!(stored.len() as u64 <= total);
    assert!(stored.len() >= acknowledged.len());
}
