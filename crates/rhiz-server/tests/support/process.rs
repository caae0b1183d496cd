//! The real `rhiz` binary as a child process.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const RHIZ: &str = env!("CARGO_BIN_EXE_rhiz");

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `rhiz serve` child process, killed if the test fails before stopping it.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// `rhiz serve` on `data_dir` and a free port, logging warnings.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_logging_to(data_dir, Stdio::inherit(), "warn")
    }

    /// As [`Server::start`], with stderr and the log level chosen.
    pub fn start_logging_to(data_dir: &Path, stderr: Stdio, log_level: &str) -> Server {
        Self::start_with(data_dir, stderr, log_level, &[])
    }

    /// As [`Server::start_logging_to`], with extra environment variables.
    pub fn start_with(
        data_dir: &Path,
        stderr: Stdio,
        log_level: &str,
        env: &[(&str, &str)],
    ) -> Server {
        let port = free_port();
        let mut command = Command::new(RHIZ);
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data_dir);
        for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("RHIZ_")) {
            command.env_remove(key);
        }
        let child = command
            .env("RHIZ_LOG_LEVEL", log_level)
            .envs(env.iter().copied())
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn rhiz");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until `/health` answers; returns how long that took.
    pub async fn wait_healthy(&self, client: &reqwest::Client) -> Duration {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = client.get(format!("{}/health", self.base)).send().await {
                if response.status() == 200 {
                    return started.elapsed();
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("rhiz did not answer /health within 30 s");
    }

    /// GETs `path` (e.g. `/api/v1/entities/did:plc:a`), expects 200, and
    /// returns the JSON body.
    pub async fn get_json(&self, client: &reqwest::Client, path: &str) -> serde_json::Value {
        let response = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        assert_eq!(response.status(), 200, "GET {path}");
        response
            .json()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: not JSON: {error}"))
    }

    /// SIGTERM, then waits for the exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "rhiz did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Server {
    /// SIGKILL: no shutdown of any kind.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
