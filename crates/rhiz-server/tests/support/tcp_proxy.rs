//! A TCP proxy a test can cut and restore, to make a dependency (the
//! PostgreSQL server) unreachable and reachable again without touching it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards connections to a target while open; when cut, drops every
/// forwarded connection and closes new ones at once.
pub struct TcpProxy {
    address: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accepting: AbortHandle,
}

impl TcpProxy {
    /// Starts forwarding a loopback port to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (task_open, task_connections) = (Arc::clone(&open), Arc::clone(&connections));
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !task_open.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let forward = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                task_connections
                    .lock()
                    .unwrap()
                    .push(forward.abort_handle());
            }
        })
        .abort_handle();
        TcpProxy {
            address,
            open,
            connections,
            accepting,
        }
    }

    /// The address clients connect to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Drops every forwarded connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

/// A proxy to the server `url` names (`scheme://[userinfo@]host:port/path`),
/// and the same URL through the proxy.
pub async fn proxied(url: &str) -> (TcpProxy, String) {
    let (scheme, rest) = url.split_once("://").expect("scheme://");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (format!("{userinfo}@"), host_port),
        None => (String::new(), authority),
    };
    let target = tokio::net::lookup_host(host_port)
        .await
        .expect("resolve the host")
        .next()
        .expect("an address");
    let proxy = TcpProxy::start(target).await;
    let url = format!("{scheme}://{userinfo}{}/{path}", proxy.address());
    (proxy, url)
}
