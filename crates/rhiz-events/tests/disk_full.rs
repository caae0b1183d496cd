//! The file log on a full disk: appends are refused with an error, nothing
//! refused is kept, and the log takes writes again by itself once there is
//! room. The disk fills for real: a file-size limit (`RLIMIT_FSIZE`) makes
//! writes past it fail with `EFBIG`, as a full disk fails them with
//! `ENOSPC`. The scenario runs in a child process, started by a shell that
//! ignores `SIGXFSZ` (which would otherwise end the process at the limit),
//! so the limit touches no other test.

use std::process::Command;

use rhiz_events::{
    AppendOutcome, EventLog, EventsError, FileEventLog, FileLogOptions, Lane, NewEvent,
};
use rlimit::Resource;

const CHILD: &str = "RHIZ_EVENTS_DISK_FULL_CHILD";

fn event(i: usize) -> NewEvent {
    NewEvent {
        id: format!("e{i}"),
        key: format!("k{}", i % 5),
        lane: Lane::Normal,
        event_type: "relationship.created".into(),
        payload: vec![b'x'; 1_000],
    }
}

/// Sets the soft limit on the size of files this process writes.
fn limit_file_size(bytes: u64) {
    let (_, hard) = Resource::FSIZE.get().unwrap();
    Resource::FSIZE.set(bytes.min(hard), hard).unwrap();
}

#[test]
fn a_full_disk_refuses_appends_and_the_log_heals_when_there_is_room() {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; exec \"$0\" disk_full_child --exact --ignored --nocapture --test-threads=1")
        .arg(exe)
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "the child failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The scenario; runs only in the child the test above starts.
#[tokio::test]
#[ignore = "child process of a_full_disk_refuses_appends_and_the_log_heals_when_there_is_room"]
async fn disk_full_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = FileLogOptions {
        file_bytes: 1 << 30,
        ..FileLogOptions::default()
    };
    let log = FileEventLog::open(dir.path().join("events"), options.clone())
        .await
        .unwrap();
    let mut accepted = Vec::new();
    for i in 0..10 {
        assert!(matches!(
            log.append_one(event(i)).await.unwrap(),
            AppendOutcome::Appended { .. }
        ));
        accepted.push(format!("e{i}"));
    }
    let file = std::fs::read_dir(dir.path().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap();
    let size = std::fs::metadata(&file).unwrap().len();

    limit_file_size(size + 2_500);
    let mut refused = Vec::new();
    for i in 10..20 {
        match log.append_one(event(i)).await {
            Ok(AppendOutcome::Appended { .. }) => accepted.push(format!("e{i}")),
            Ok(AppendOutcome::Duplicate) => panic!("ids are new"),
            Err(e) => {
                assert!(matches!(e, EventsError::Commit(_)), "{e}");
                refused.push(format!("e{i}"));
            }
        }
    }
    assert_eq!(accepted.len(), 12, "two more events fit in the room left");
    assert_eq!(refused.len(), 8, "then every append is refused");

    limit_file_size(u64::MAX);
    for i in 20..25 {
        assert!(
            matches!(
                log.append_one(event(i)).await.unwrap(),
                AppendOutcome::Appended { .. }
            ),
            "the log takes writes again once there is room"
        );
        accepted.push(format!("e{i}"));
    }
    // A refused event was never written: its id is new.
    assert!(matches!(
        log.append_one(event(10 + 2)).await.unwrap(),
        AppendOutcome::Appended { .. }
    ));
    accepted.push("e12".into());
    log.close().await.unwrap();

    let log = FileEventLog::open(dir.path().join("events"), options)
        .await
        .unwrap();
    let mut pending: Vec<String> = log
        .pending(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.id)
        .collect();
    pending.sort();
    accepted.sort();
    assert_eq!(pending, accepted, "every accepted event and no refused one");
}
