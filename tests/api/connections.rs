//! Connections: a client that connects and sends nothing, or a request's headers a byte at a
//! time (slowloris), is closed after `header_read_timeout_secs`, and so is a keep-alive
//! connection idle that long; a WebSocket and an SSE stream, which read no more headers,
//! stay open past it and keep delivering. A shutdown does not wait on a slow connection.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::runtime::{Sse, subscribe};
use crate::support::{Backend, PATIENCE, TestApp};

/// Read until the server closes `stream`; how long that took (None: still open after
/// [`PATIENCE`]).
async fn closed_after(stream: &mut TcpStream, started: Instant) -> Option<Duration> {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn slow_or_silent_clients_are_closed_and_streams_are_not() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.header_read_timeout_secs = 1).await;
    let address = app.base.trim_start_matches("http://").to_string();
    let (_owner, _project, _app_id) = crate::runtime_listing::app_with(
        &app,
        "slow@connections.example",
        "slow",
        json!([{"name": "title", "type": "text"}]),
    )
    .await;
    // Streams opened first: they live through everything below.
    let (mut sse, client_id) = Sse::open(&app, "slow").await;
    subscribe(&app, "slow", &client_id, json!(["items/*"]), None).await;
    let user = app.signup("ws@connections.example").await;
    let ws_url = format!("{}/api/v1/notifications/ws?token={}", app.base.replace("http://", "ws://"), user.access);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.expect("the WebSocket opens");

    let started = Instant::now();
    // Connects and sends nothing.
    let mut silent = TcpStream::connect(&address).await.expect("connect");
    // Sends a request's headers a byte every 200 ms: busy, but never done.
    let mut slow = TcpStream::connect(&address).await.expect("connect");
    let trickle = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: socle.test\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" {
            if slow.write_all(&[*byte]).await.is_err() {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        closed_after(&mut slow, started).await
    });
    // One request answered, then idle on a keep-alive connection.
    let mut idle = TcpStream::connect(&address).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: socle.test\r\n\r\n").await.expect("write");
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.expect("an answer");
    assert_eq!(&head, b"HTTP/1.1 200");

    for (what, closed) in
        [("silent", closed_after(&mut silent, started).await), ("idle", closed_after(&mut idle, started).await)]
    {
        let closed = closed.unwrap_or_else(|| panic!("the {what} connection was never closed"));
        assert!(closed >= Duration::from_millis(900), "the {what} connection was closed too early: {closed:?}");
    }
    let trickled = trickle.await.expect("the trickle task").expect("the slow client was closed");
    assert!(trickled < Duration::from_secs(10), "the slow client was closed only after {trickled:?}");

    // Past the header timeout: the WebSocket still answers, the SSE stream still delivers.
    assert!(started.elapsed() > Duration::from_secs(1));
    ws.send(WsMessage::Ping(b"still there?".to_vec().into())).await.expect("ping");
    let pong = tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(message)) = ws.next().await {
            if let WsMessage::Pong(data) = message {
                return Some(data);
            }
        }
        None
    })
    .await
    .expect("an answer in time");
    assert_eq!(pong.as_deref(), Some(&b"still there?"[..]), "the WebSocket is open");
    // A fresh client: the shared one's pooled connection has been idle past the header
    // timeout too, and a POST sent as the server closes it fails (IncompleteMessage) instead
    // of being retried, the keep-alive race every HTTP/1.1 client has with an idle timeout.
    let fresh = reqwest::Client::new();
    let created = fresh.post(app.url("/apps/slow/api/collections/items/records")).json(&json!({"title": "late"}));
    assert_eq!(created.send().await.expect("create").status(), 200);
    let (name, event) = sse.next().await.expect("the SSE stream is open and delivers");
    assert_eq!((name.as_str(), &event["record"]["title"]), ("items/*", &json!("late")));
}

/// A shutdown (a restart here) does not wait for ever on a connection stuck half-way through
/// a request's headers (a slowloris client): hyper does not count it as idle, so it waits for
/// the request, and only the header deadline ends it. (One that sent nothing at all hyper
/// closes at once.)
#[tokio::test]
async fn a_shutdown_does_not_wait_for_slow_connections() {
    let mut app = TestApp::spawn_with(Backend::Sqlite, |c| c.header_read_timeout_secs = 1).await;
    let address = app.base.trim_start_matches("http://").to_string();
    let _silent = TcpStream::connect(&address).await.expect("connect");
    let mut slow = TcpStream::connect(&address).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: socle.test\r\n").await.expect("half the headers");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    tokio::time::timeout(PATIENCE, app.restart()).await.expect("the server stopped while a slow connection was open");
    assert!(started.elapsed() < Duration::from_secs(5), "the shutdown took {:?}", started.elapsed());
    let health = app.client.get(app.url("/healthz")).send().await.expect("the restarted server answers");
    assert_eq!(health.status(), 200);
}
