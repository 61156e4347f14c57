//! A small HTTP server for tests that make Socle call out (webhooks, workflow HTTP steps):
//! it answers scripted `(status, body)` pairs in turn, then `then` for every later request,
//! and records each request.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Hit {
    /// The request target (`/path?query`).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub type Hits = Arc<Mutex<Vec<Hit>>>;

/// A scripted answer: a status, extra headers, and a body sent whole, or in chunks
/// (`transfer-encoding: chunked`, a pause between them) when there are several.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<String>,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Reply { status, headers: vec![("content-type".into(), "application/json".into())], chunks: vec![body.into()] }
    }

    /// A server-sent event stream, one chunk per event.
    pub fn events(events: &[String]) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            chunks: events.iter().map(|e| format!("{e}\n\n")).collect(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Start the server; returns its base URL (`http://127.0.0.1:PORT`) and the requests seen.
pub async fn start(script: Vec<(u16, String)>, then: (u16, String)) -> (String, Hits) {
    start_replies(script.into_iter().map(|(s, b)| Reply::json(s, b)).collect(), Reply::json(then.0, then.1)).await
}

/// The same with replies of any shape.
pub async fn start_replies(script: Vec<Reply>, then: Reply) -> (String, Hits) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let hits: Hits = Arc::new(Mutex::new(Vec::new()));
    let store = hits.clone();
    let script = Arc::new(Mutex::new(script.into_iter()));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let store = store.clone();
            let script = script.clone();
            let then = then.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let Ok(n) = stream.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0usize);
                        break (pos + 4, len);
                    }
                };
                while buf.len() < head_end + length {
                    let Ok(n) = stream.read(&mut chunk).await else { return };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let target = head.lines().next().unwrap_or_default().split(' ').nth(1).unwrap_or_default().to_string();
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
                    .collect();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                if let Ok(mut h) = store.lock() {
                    h.push(Hit { target, headers, body });
                }
                let reply = script.lock().ok().and_then(|mut s| s.next()).unwrap_or(then);
                let mut head = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", reply.status);
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                if let [whole] = reply.chunks.as_slice() {
                    head.push_str(&format!("content-length: {}\r\n\r\n{whole}", whole.len()));
                    let _ = stream.write_all(head.as_bytes()).await;
                    return;
                }
                head.push_str("transfer-encoding: chunked\r\n\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for chunk in &reply.chunks {
                    let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
                    if stream.write_all(framed.as_bytes()).await.is_err() {
                        return;
                    }
                    let _ = stream.flush().await;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    (base, hits)
}
