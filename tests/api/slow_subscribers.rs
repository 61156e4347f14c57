//! Realtime subscribers that cannot keep up: one that falls further behind than its queue is
//! disconnected, so that it reconnects and refetches, instead of silently missing events; a
//! subscriber that keeps up beside it gets every event.

use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::automation::next_json;
use crate::runtime::{Sse, Ws as AppWs, subscribe};
use crate::support::{Backend, PATIENCE, TestApp};

/// Records large enough that a few fill a socket's buffers.
const PAYLOAD: usize = 8 * 1024;

/// No rate limit: the tests write hundreds of records in a second or two.
fn unlimited(config: &mut kernel::config::Config) {
    config.rate_limit.global_per_minute = 0;
}

/// A connection to the server that takes in little at a time: its receive buffer is small, so
/// what it does not read stays queued on the server's side.
async fn narrow_connection(app: &TestApp) -> TcpStream {
    let address = app.base.trim_start_matches("http://").parse().expect("the server's address");
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("a small receive buffer");
    socket.connect(address).await.expect("connect")
}

/// Create `count` records of `size` bytes in the app's `items`, eight at a time.
async fn create_records(app: &TestApp, slug: &str, count: usize, size: usize) {
    let url = app.url(&format!("/apps/{slug}/api/collections/items/records"));
    let body = json!({"title": "x".repeat(size)});
    futures_util::stream::iter(0..count)
        .for_each_concurrent(8, |_| {
            let request = app.client.post(&url).json(&body);
            async move {
                let created = request.send().await.expect("create");
                assert_eq!(created.status(), 200);
            }
        })
        .await;
}

/// The record whose event tells a subscriber that keeps up that every other one was sent.
const LAST: &str = "last";

/// A subscriber that reads as events come, in its own task: how many it got before the one
/// of the record titled [`LAST`] (or the end of its stream, or a silence of [`PATIENCE`]).
fn keep_up(mut sse: Sse) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut got = 0;
        while let Some((_, event)) = sse.next().await {
            if event["record"]["title"] == LAST {
                break;
            }
            got += 1;
        }
        got
    })
}

/// Whether the server still knows the SSE client `id` (it takes its subscriptions).
async fn still_known(app: &TestApp, slug: &str, id: &str) -> bool {
    let url = app.url(&format!("/apps/{slug}/api/realtime"));
    let answer = app.client.post(url).json(&json!({"clientId": id, "subscriptions": ["items/*"]})).send().await;
    match answer.expect("set subscriptions").status().as_u16() {
        204 => true,
        404 => false,
        other => panic!("setting subscriptions answered {other}"),
    }
}

#[tokio::test]
async fn an_sse_subscriber_too_far_behind_is_disconnected() {
    let app = TestApp::spawn_with(Backend::Sqlite, unlimited).await;
    crate::runtime_listing::app_with(&app, "lag@sse.example", "lag", json!([{"name": "title", "type": "text"}])).await;
    let (steady, steady_id) = Sse::open(&app, "lag").await;
    subscribe(&app, "lag", &steady_id, json!(["items/*"]), None).await;
    let steady = keep_up(steady);

    // The slow one reads its greeting, then nothing while records are written.
    let mut slow = narrow_connection(&app).await;
    slow.write_all(b"GET /apps/lag/api/realtime HTTP/1.1\r\nHost: socle.test\r\n\r\n").await.expect("write");
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let client_id = loop {
        let read = slow.read(&mut buffer).await.expect("the greeting");
        assert!(read > 0, "the stream ended before its greeting");
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received);
        if let Some(start) = text.find("\"clientId\":\"") {
            let rest = &text[start + 12..];
            if let Some(end) = rest.find('"') {
                break rest[..end].to_string();
            }
        }
    };
    subscribe(&app, "lag", &client_id, json!(["items/*"]), None).await;
    // Records are written until the server lets it go (its id is then unknown): how many
    // that takes depends on the sockets' buffers (the server's grows to megabytes).
    let mut written = 0;
    while still_known(&app, "lag", &client_id).await {
        assert!(written < 5000, "{written} events behind, the subscriber is still served");
        create_records(&app, "lag", 100, PAYLOAD).await;
        written += 100;
    }
    create_last(&app, "lag").await;

    // It then reads: what was queued for it, and the stream's end (the chunked body's last
    // chunk), not a stream left open that no longer carries every event.
    received.clear();
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match slow.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
            if received.ends_with(b"\r\n0\r\n\r\n") {
                return;
            }
        }
    })
    .await;
    let delivered = String::from_utf8_lossy(&received).matches("event: items/*").count();
    assert!(ended.is_ok(), "the stream of a subscriber let go is still open ({delivered} events read)");
    assert!(delivered < written, "every event was delivered: the subscriber never fell behind");
    assert_eq!(steady.await.expect("the steady subscriber"), written, "the steady subscriber missed events");
}

#[tokio::test]
async fn a_websocket_subscriber_too_far_behind_is_closed_and_resumes() {
    // More than its queue (1000 events) and the sockets' buffers (a few megabytes) hold.
    const EVENTS: usize = 2600;
    const SIZE: usize = 4 * 1024;
    let app = TestApp::spawn_with(Backend::Sqlite, unlimited).await;
    crate::runtime_listing::app_with(&app, "lag@ws.example", "lagws", json!([{"name": "title", "type": "text"}])).await;
    let url = format!("{}/apps/lagws/api/realtime/ws", app.base.replacen("http", "ws", 1));
    let narrow = tokio_tungstenite::MaybeTlsStream::Plain(narrow_connection(&app).await);
    let (stream, _) = tokio_tungstenite::client_async(url, narrow).await.expect("the WebSocket opens");
    let mut slow = AppWs(stream);
    let hello = slow.next().await.expect("hello");
    slow.send(json!({"type": "subscribe", "id": "s1", "topic": "items/*"})).await;
    assert_eq!(slow.next().await.expect("subscribed")["type"], "subscribed");
    let (steady, steady_id) = Sse::open(&app, "lagws").await;
    subscribe(&app, "lagws", &steady_id, json!(["items/*"]), None).await;
    let steady = keep_up(steady);

    create_records(&app, "lagws", EVENTS, SIZE).await;
    create_last(&app, "lagws").await;

    // It reads what was queued, then the close: 1013, try again (and resume).
    let mut last_seq = 0;
    let mut delivered = 0;
    let close = read_until_closed(&mut slow.0, |event| {
        if event["type"] == "event" {
            delivered += 1;
            last_seq = event["seq"].as_u64().expect("seq");
        }
    })
    .await;
    assert_eq!(close, Some(1013));
    assert!(delivered < EVENTS, "every event was delivered: the subscriber never fell behind");

    // Reconnected with its last `seq`, it gets what it missed, as far as the server kept
    // (the app's last 1000 events), or is told to refetch.
    let (mut resumed, _) = AppWs::open(&app, "lagws", None).await;
    resumed
        .send(json!({"type": "subscribe", "id": "s1", "topic": "items/*",
            "resume": {"epoch": hello["epoch"], "seq": last_seq}}))
        .await;
    assert_eq!(resumed.next().await.expect("subscribed")["type"], "subscribed");
    let next = resumed.next().await.expect("a replayed event or a refetch");
    // Events are numbered from 1 and were all sent in order; the last one is [`LAST`].
    if EVENTS + 1 - delivered <= 1000 {
        assert_eq!((&next["type"], &next["seq"]), (&json!("event"), &json!(last_seq + 1)), "{next}");
    } else {
        assert_eq!(next["type"], "refetch", "{next}");
    }

    assert_eq!(steady.await.expect("the steady subscriber"), EVENTS, "the steady subscriber missed events");
}

/// Create the record titled [`LAST`].
async fn create_last(app: &TestApp, slug: &str) {
    let url = app.url(&format!("/apps/{slug}/api/collections/items/records"));
    let created = app.client.post(url).json(&json!({"title": LAST})).send().await.expect("create");
    assert_eq!(created.status(), 200);
}

/// Read a WebSocket until the server closes it, handing each text message (as JSON) to
/// `seen`; the close code, if the close came with a frame. Panics if it stays open past
/// [`PATIENCE`].
async fn read_until_closed(socket: &mut crate::automation::Ws, mut seen: impl FnMut(serde_json::Value)) -> Option<u16> {
    tokio::time::timeout(PATIENCE, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(WsMessage::Text(text)) => seen(serde_json::from_str(&text).expect("json")),
                Ok(WsMessage::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the WebSocket of a client that fell behind is closed")
}

#[tokio::test]
async fn a_notification_stream_too_far_behind_is_closed() {
    // More than its queue (64) and the sockets' buffers (a few megabytes) hold.
    const SENT: usize = 1300;
    let app = TestApp::spawn_with(Backend::Sqlite, unlimited).await;
    let admin = app.admin("root@lag.example").await;
    let alice = app.signup("alice@lag.example").await;
    let url = format!("{}/api/v1/notifications/ws?token={}", app.base.replace("http://", "ws://"), alice.access);
    let narrow = tokio_tungstenite::MaybeTlsStream::Plain(narrow_connection(&app).await);
    let (mut slow, _) = tokio_tungstenite::client_async(&url, narrow).await.expect("the WebSocket opens");
    assert_eq!(next_json(&mut slow).await.expect("hello")["type"], "hello");
    let (mut steady, _) = tokio_tungstenite::connect_async(&url).await.expect("the WebSocket opens");
    assert_eq!(next_json(&mut steady).await.expect("hello")["type"], "hello");
    let steady = tokio::spawn(async move {
        let mut got = 0;
        while got < SENT {
            match next_json(&mut steady).await {
                Some(message) if message["type"] == "notification" => got += 1,
                Some(_) => {}
                None => break,
            }
        }
        got
    });

    let body = json!({"user_id": alice.user_id, "type": "admin.message", "title": "Lag", "body": "x".repeat(4900)});
    futures_util::stream::iter(0..SENT)
        .for_each_concurrent(8, |_| {
            let body = body.clone();
            let admin = &admin;
            let app = &app;
            async move {
                app.post("/api/v1/admin/notifications", Some(&admin.access), body).await.expect(202);
            }
        })
        .await;

    // It reads what was queued, then the close: 1013, reconnect and list.
    let mut delivered = 0;
    let close = read_until_closed(&mut slow, |message| {
        if message["type"] == "notification" {
            delivered += 1;
        }
    })
    .await;
    assert_eq!(close, Some(1013));
    assert!(delivered < SENT, "every notification was delivered: the client never fell behind");
    assert_eq!(steady.await.expect("the steady client"), SENT, "the steady client missed notifications");
}
