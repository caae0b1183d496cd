//! The real `rhiz` binary over a real socket: start-up, graceful shutdown on
//! SIGTERM, data surviving a restart, configuration errors and `rhiz config`.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::process::{free_port, Server, RHIZ};

#[tokio::test]
async fn entities_survive_a_graceful_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let did = "did:plc:restart234567abcdefghij";

    let server = Server::start(dir.path());
    let startup = server.wait_healthy(&client).await;
    assert!(
        startup < Duration::from_secs(10),
        "start-up took {startup:?}"
    );
    let created = client
        .post(format!("{}/api/v1/entities/", server.base))
        .json(&json!({"did": did, "type": "person", "name": "Restart", "handle": "restart.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    assert!(
        dir.path().join("rhiz.db").exists(),
        "the database lives in the data dir"
    );

    let server = Server::start(dir.path());
    server.wait_healthy(&client).await;
    let by_did = server
        .get_json(&client, &format!("/api/v1/entities/{did}"))
        .await;
    assert_eq!(by_did, created);
    let by_handle = client
        .get(format!(
            "{}/api/v1/entities/by-handle/restart.example.com",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(by_handle.status(), 200);
    assert!(server.terminate().success());
}

#[tokio::test]
async fn in_flight_requests_finish_during_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let server = Server::start(dir.path());
    server.wait_healthy(&client).await;
    let base = server.base.clone();
    let writes: Vec<_> = (0..20)
        .map(|i| {
            let client = client.clone();
            let base = base.clone();
            tokio::spawn(async move {
                client
                    .post(format!("{base}/api/v1/entities"))
                    .json(&json!({"did": format!("did:plc:inflight{i}"), "type": "agent", "name": "w"}))
                    .send()
                    .await
                    .map(|response| response.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success());
    let mut answered = 0;
    for write in writes {
        match write.await.unwrap() {
            Ok(code) => {
                assert_eq!(code, 201, "a request that got in was finished, not cut off");
                answered += 1;
            }
            Err(error) => assert!(error.is_connect() || error.is_request(), "{error}"),
        }
    }
    let server = Server::start(dir.path());
    server.wait_healthy(&client).await;
    let mut stored = 0;
    for i in 0..20 {
        let response = client
            .get(format!(
                "{}/api/v1/entities/did:plc:inflight{i}",
                server.base
            ))
            .send()
            .await
            .unwrap();
        stored += usize::from(response.status() == 200);
    }
    assert_eq!(stored, answered, "every answered write was stored");
}

#[tokio::test]
async fn logs_to_a_pipe_are_plain_structured_lines() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = Server::start_logging_to(dir.path(), Stdio::piped(), "info");
    let stderr = server.child.stderr.take().unwrap();
    server.wait_healthy(&client).await;
    let response = client
        .get(format!("{}/api/v1/entities/did:plc:nobody", server.base))
        .header("x-request-id", "log-test-id")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(server.terminate().success());
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut { stderr }, &mut logs).unwrap();
    assert!(logs.contains("rhiz is serving"), "{logs}");
    assert!(
        logs.lines()
            .any(|line| line.contains("log-test-id") && line.contains("status=404")),
        "one span per request carries the request id: {logs}"
    );
    assert!(
        !logs.contains('\u{1b}'),
        "no terminal colour codes in a pipe: {logs}"
    );
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(RHIZ);
    command.args(args);
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("RHIZ_")) {
        command.env_remove(key);
    }
    command.envs(env.iter().copied());
    command.output().expect("run rhiz")
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_key() {
    let output = run(&["serve", "--listen", "nowhere"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`listen`") && stderr.contains("--listen"),
        "{stderr}"
    );

    let output = run(&["serve"], &[("RHIZ_DATABASE_URL", "mysql://db")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("database_url") && stderr.contains("RHIZ_DATABASE_URL"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rhiz.toml");
    std::fs::write(&file, "max_body_bytes = \"big\"\n").unwrap();
    let output = run(&["serve", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_body_bytes"), "{stderr}");
}

#[test]
fn config_prints_the_effective_values_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rhiz.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:7001\"\nlog_format = \"json\"\n",
    )
    .unwrap();
    let output = run(
        &[
            "config",
            "--config",
            file.to_str().unwrap(),
            "--max-body-bytes",
            "4096",
        ],
        &[
            ("RHIZ_LISTEN", "127.0.0.1:7002"),
            (
                "RHIZ_DATABASE_URL",
                "postgres://rhiz:hunter2@db.internal:5432/rhiz",
            ),
        ],
    );
    assert!(output.status.success());
    let shown: toml::Value = toml::from_str(&String::from_utf8_lossy(&output.stdout)).unwrap();
    assert_eq!(
        shown["listen"].as_str(),
        Some("127.0.0.1:7002"),
        "env beats file"
    );
    assert_eq!(
        shown["log_format"].as_str(),
        Some("json"),
        "file beats default"
    );
    assert_eq!(
        shown["max_body_bytes"].as_integer(),
        Some(4096),
        "flag beats all"
    );
    let url = shown["database_url"].as_str().unwrap();
    assert_eq!(url, "postgres://rhiz:***@db.internal:5432/rhiz");
}

#[test]
fn a_store_that_cannot_be_opened_fails_start_up_with_its_reason() {
    let output = run(
        &["serve", "--listen", &format!("127.0.0.1:{}", free_port())],
        &[("RHIZ_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the store"), "{stderr}");
}
