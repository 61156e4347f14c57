//! Collab: live page editing over the Yjs protocol — convergence, access, repair of invalid
//! edits, REST writes reaching editors, persistence across a restart, replay, time travel
//! and restore, two processes on one PostgreSQL, and the official npm clients.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{Doc, Map, Out, ReadTxn, Text, Transact, TransactionMut, Update, WriteTxn};

use crate::support::{Backend, PATIENCE, Session, TestApp};
use crate::{on_both_backends, on_both_databases};

on_both_databases!(
    editors_converge_and_rest_reads_and_writes_follow,
    invalid_edits_are_repaired_for_everyone,
    history_can_be_replayed_travelled_and_restored
);
on_both_backends!(
    access_is_checked_at_connect_and_while_connected,
    a_page_survives_a_restart,
    a_malformed_update_does_not_break_the_page,
    unresponsive_connections_are_dropped,
    a_shutdown_stores_live_pages_and_closes_their_editors,
    revoked_access_closes_editors_at_once
);

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A minimal Yjs client: a Y.Doc kept in sync over the room's WebSocket.
struct YClient {
    ws: Ws,
    doc: Doc,
    /// The close code, once the server closed the connection.
    closed: Option<u16>,
}

fn frame(msg: Message) -> WsMessage {
    WsMessage::Binary(msg.encode_v1().into())
}

impl YClient {
    async fn connect(app: &TestApp, page_id: &str, query: &str) -> Result<YClient, u16> {
        let url = format!("{}/api/v1/collab/pages/{page_id}?{query}", app.base.replace("http://", "ws://"));
        let (mut ws, _) = match tokio_tungstenite::connect_async(url).await {
            Ok(ok) => ok,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => return Err(response.status().as_u16()),
            Err(e) => panic!("connect: {e}"),
        };
        let doc = collab::mapping::new_doc();
        let sv = doc.transact().state_vector();
        ws.send(frame(Message::Sync(SyncMessage::SyncStep1(sv)))).await.expect("send step 1");
        Ok(YClient { ws, doc, closed: None })
    }

    async fn editor(app: &TestApp, page_id: &str, who: &Session) -> YClient {
        YClient::connect(app, page_id, &format!("token={}", who.access)).await.expect("an editor connects")
    }

    fn json(&self) -> Value {
        collab::mapping::to_json(&self.doc)
    }

    /// Read one frame and apply it; false once the connection is closed.
    async fn pump_once(&mut self, wait: Duration) -> bool {
        let next = match tokio::time::timeout(wait, self.ws.next()).await {
            Err(_) => return true,
            Ok(next) => next,
        };
        match next {
            Some(Ok(WsMessage::Binary(bytes))) => {
                let mut decoder = DecoderV1::from(bytes.as_ref());
                let mut replies = Vec::new();
                for msg in MessageReader::new(&mut decoder) {
                    match msg.expect("a Yjs message") {
                        Message::Sync(SyncMessage::SyncStep1(sv)) => {
                            let diff = self.doc.transact().encode_diff_v1(&sv);
                            replies.push(Message::Sync(SyncMessage::SyncStep2(diff)));
                        }
                        Message::Sync(SyncMessage::SyncStep2(u)) | Message::Sync(SyncMessage::Update(u)) => {
                            self.doc
                                .transact_mut()
                                .apply_update(Update::decode_v1(&u).expect("update"))
                                .expect("apply");
                        }
                        _ => {}
                    }
                }
                for r in replies {
                    let _ = self.ws.send(frame(r)).await;
                }
                true
            }
            Some(Ok(WsMessage::Close(close))) => {
                self.closed = Some(close.map(|c| u16::from(c.code)).unwrap_or(1005));
                false
            }
            Some(Ok(_)) => true,
            None | Some(Err(_)) => {
                self.closed.get_or_insert(1006);
                false
            }
        }
    }

    /// Pump until `check` holds on the document (panics after the patience).
    async fn until(&mut self, what: &str, check: impl Fn(&Value) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !check(&self.json()) {
            assert!(tokio::time::Instant::now() < deadline, "waited for {what}; the document is {}", self.json());
            assert!(
                self.pump_once(Duration::from_millis(100)).await,
                "closed ({:?}) while waiting for {what}",
                self.closed
            );
        }
    }

    /// Read what arrives for `wait`.
    async fn settle(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline && self.pump_once(Duration::from_millis(50)).await {}
    }

    /// Pump until the server closes the connection; its close code.
    async fn closed_with(&mut self) -> u16 {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.pump_once(Duration::from_millis(100)).await {
            assert!(tokio::time::Instant::now() < deadline, "the connection stayed open");
        }
        self.closed.unwrap_or(1006)
    }

    /// Make a local change and send it as an update.
    async fn edit(&mut self, change: impl FnOnce(&mut TransactionMut)) {
        let update = {
            let mut txn = self.doc.transact_mut();
            change(&mut txn);
            txn.encode_update_v1()
        };
        self.ws.send(frame(Message::Sync(SyncMessage::Update(update)))).await.expect("send update");
    }
}

/// The Y.Text of the first child's `text` prop.
fn heading_text(txn: &mut TransactionMut) -> yrs::TextRef {
    let root = txn.get_or_insert_map("page");
    let Some(Out::YArray(children)) = root.get(txn, "children") else { panic!("children") };
    let Some(Out::YMap(node)) = yrs::Array::get(&children, txn, 0) else { panic!("first child") };
    let Some(Out::YMap(props)) = node.get(txn, "props") else { panic!("props") };
    let Some(Out::YText(text)) = props.get(txn, "text") else { panic!("text is a Y.Text") };
    text
}

fn heading_props(txn: &mut TransactionMut) -> yrs::MapRef {
    let root = txn.get_or_insert_map("page");
    let Some(Out::YArray(children)) = root.get(txn, "children") else { panic!("children") };
    let Some(Out::YMap(node)) = yrs::Array::get(&children, txn, 0) else { panic!("first child") };
    let Some(Out::YMap(props)) = node.get(txn, "props") else { panic!("props") };
    props
}

fn first_text(doc: &Value) -> String {
    doc["children"][0]["props"]["text"].as_str().unwrap_or_default().to_string()
}

/// A viewer of the page (which reads "Hello") through a new share link of its project, and
/// the link's id.
async fn share_viewer(app: &TestApp, owner: &Session, project: &str, page_id: &str) -> (YClient, String) {
    let link = app
        .post(&format!("/api/v1/studio/projects/{project}/share-links"), Some(&owner.access), json!({}))
        .await
        .expect(201);
    let share = link.body["token"].as_str().expect("token");
    let mut viewer = YClient::connect(app, page_id, &format!("share={share}")).await.expect("a viewer connects");
    viewer.until("the page", |d| first_text(d) == "Hello").await;
    (viewer, link.body["id"].as_str().expect("link id").to_string())
}

/// An owner, their organization, a project and a page with one heading.
async fn page_setup(app: &TestApp, email: &str) -> (Session, String, String, String) {
    let owner = app.signup(email).await;
    let org = app.organization(&owner, "Collab Org").await;
    let project = crate::studio_projects::project(app, &owner, &org, "Site").await;
    let page = app
        .post(
            &format!("/api/v1/studio/projects/{project}/pages"),
            Some(&owner.access),
            json!({"name": "Home", "document": {"type": "page", "props": {}, "children": [
                {"type": "heading", "props": {"text": "Hello", "level": 1}}]}}),
        )
        .await
        .expect(201);
    let page_id = page.body["id"].as_str().expect("page id").to_string();
    (owner, org, project, page_id)
}

async fn editors_converge_and_rest_reads_and_writes_follow(app: TestApp) {
    let (owner, org, project, page_id) = page_setup(&app, "conv@collab.example").await;
    let member = app.signup("member@collab.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let mut a = YClient::editor(&app, &page_id, &owner).await;
    a.until("the page's JSON", |d| first_text(d) == "Hello").await;
    let mut b = YClient::editor(&app, &page_id, &member).await;
    b.until("the page's JSON", |d| first_text(d) == "Hello").await;

    // Concurrent edits of one text and of the root's props.
    a.edit(|txn| heading_text(txn).push(txn, " world")).await;
    b.edit(|txn| heading_text(txn).insert(txn, 0, "Oh, ")).await;
    b.edit(|txn| {
        let root = txn.get_or_insert_map("page");
        let Some(Out::YMap(props)) = root.get(txn, "props") else { panic!("props") };
        props.insert(txn, "title", yrs::TextPrelim::new("T"));
    })
    .await;
    a.until("both edits", |d| first_text(d) == "Oh, Hello world" && d["props"]["title"] == "T").await;
    b.until("both edits", |d| first_text(d) == "Oh, Hello world").await;
    assert_eq!(a.json(), b.json());

    // A late joiner receives everything.
    let mut c = YClient::editor(&app, &page_id, &member).await;
    c.until("the whole state", |d| *d == a.json()).await;

    // The Studio page follows the live document (stored at most every half second while
    // edits stream in).
    let rest = format!("/api/v1/studio/projects/{project}/pages/{page_id}");
    let live = a.json();
    let read = crate::eventually!("the Studio page to hold the live document", {
        let read = app.get(&rest, Some(&owner.access)).await.expect(200);
        (read.body["document"] == live).then_some(read)
    });

    // A REST write reaches the editors as an update; the text they typed in keeps its identity.
    let mut doc = read.body["document"].clone();
    doc["children"][0]["props"]["text"] = json!("From REST");
    doc["children"].as_array_mut().expect("children").push(json!({"type": "text", "props": {"text": "added"}}));
    app.patch(&rest, Some(&member.access), json!({"document": doc})).await.expect(200);
    a.until("the REST write", |d| first_text(d) == "From REST" && d["children"][1]["props"]["text"] == "added").await;
    b.until("the REST write", |d| first_text(d) == "From REST").await;
    a.edit(|txn| heading_text(txn).push(txn, "!")).await;
    b.until("an edit after the REST write", |d| first_text(d) == "From REST!").await;

    // Each relayed edit's delay (arrival to relay, its log committed) is measured.
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let relayed: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("socle_collab_relay_seconds_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("socle_collab_relay_seconds in {metrics}"));
    assert!(relayed >= 4.0, "four live edits were relayed, {relayed} measured");
    assert!(metrics.contains("# HELP socle_collab_relay_seconds "), "{metrics}");

    // The presence endpoint lists who announced themselves.
    let awareness = {
        let mut aw = yrs::sync::Awareness::new(collab::mapping::new_doc());
        aw.set_local_state(json!({"user": {"name": "Ann", "color": "#ff0000"}})).expect("state");
        aw.update().expect("awareness update")
    };
    a.ws.send(frame(Message::Awareness(awareness))).await.expect("awareness");
    let presence = crate::eventually!("Ann's presence", {
        let p = app.get(&format!("/api/v1/collab/pages/{page_id}/presence"), Some(&member.access)).await.expect(200);
        p.body["items"].as_array().filter(|items| items.iter().any(|i| i["state"]["user"]["name"] == "Ann")).cloned()
    });
    assert!(presence.iter().any(|i| i["user_id"].as_str().is_some()), "{presence:?}");
    drop(a);
    crate::eventually!("Ann leaving", {
        let p = app.get(&format!("/api/v1/collab/pages/{page_id}/presence"), Some(&member.access)).await.expect(200);
        p.body["items"].as_array().filter(|items| items.iter().all(|i| i["state"]["user"]["name"] != "Ann")).map(|_| ())
    });
}

async fn invalid_edits_are_repaired_for_everyone(app: TestApp) {
    let (owner, _org, project, page_id) = page_setup(&app, "repair@collab.example").await;
    let mut a = YClient::editor(&app, &page_id, &owner).await;
    a.until("the page", |d| first_text(d) == "Hello").await;
    let mut b = YClient::editor(&app, &page_id, &owner).await;
    b.until("the page", |d| first_text(d) == "Hello").await;
    a.edit(|txn| {
        heading_text(txn).push(txn, "!");
        heading_props(txn).insert(txn, "level", 99);
    })
    .await;
    // A's own document comes back to a valid level, keeping the valid part of the edit.
    a.until("the repair", |d| d["children"][0]["props"]["level"] == 1 && first_text(d) == "Hello!").await;
    b.until("the edit", |d| first_text(d) == "Hello!").await;
    assert_eq!(b.json()["children"][0]["props"]["level"], 1, "B never holds the invalid level");
    let rest = format!("/api/v1/studio/projects/{project}/pages/{page_id}");
    let read = app.get(&rest, Some(&owner.access)).await.expect(200);
    assert_eq!(read.body["document"]["children"][0]["props"]["level"], 1);
    // A node of an unknown type is removed.
    a.edit(|txn| {
        let root = txn.get_or_insert_map("page");
        let Some(Out::YArray(children)) = root.get(txn, "children") else { panic!() };
        yrs::Array::push_back(&children, txn, yrs::MapPrelim::from_iter([("type", yrs::In::from("marquee"))]));
    })
    .await;
    a.settle(Duration::from_millis(500)).await;
    a.until("the unknown node to go", |d| d["children"].as_array().is_some_and(|c| c.len() == 1)).await;
    assert!(
        studio::pages::document::validate(&a.json(), "/document").is_ok(),
        "the editor's document is valid again: {}",
        a.json()
    );

    // Keystrokes in free text are checked by their length alone; a text pushed past its
    // limit goes back to its last valid content, the keystrokes typed before included.
    for key in [" ", "t", "h", "e", "r", "e"] {
        a.edit(|txn| heading_text(txn).push(txn, key)).await;
    }
    b.until("the keystrokes", |d| first_text(d) == "Hello! there").await;
    let too_long = "x".repeat(studio::pages::document::MAX_TEXT_CHARS);
    a.edit(|txn| heading_text(txn).push(txn, &too_long)).await;
    a.until("the long text's repair", |d| first_text(d) == "Hello! there").await;
    b.settle(Duration::from_millis(300)).await;
    assert_eq!(b.json(), a.json(), "B never holds the long text");
    // A required text emptied comes back too.
    a.edit(|txn| {
        let text = heading_text(txn);
        let len = text.len(txn);
        text.remove_range(txn, 0, len);
    })
    .await;
    a.settle(Duration::from_millis(300)).await;
    a.until("the emptied text's repair", |d| first_text(d) == "Hello! there").await;
    let read = crate::eventually!("the Studio page to hold the repaired text", {
        let read = app.get(&rest, Some(&owner.access)).await.expect(200);
        (first_text(&read.body["document"]) == "Hello! there").then_some(read)
    });
    assert!(studio::pages::document::validate(&read.body["document"], "/document").is_ok());
}

async fn access_is_checked_at_connect_and_while_connected(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("collab", |s: &mut collab::settings::CollabConfig| s.recheck_secs = 1)
            .expect("collab settings");
    })
    .await;
    let (owner, org, project, page_id) = page_setup(&app, "access@collab.example").await;
    assert_eq!(YClient::connect(&app, &page_id, "").await.err(), Some(401), "no token");
    assert_eq!(YClient::connect(&app, &page_id, "token=nonsense").await.err(), Some(401), "bad token");
    let stranger = app.signup("stranger@collab.example").await;
    assert_eq!(
        YClient::connect(&app, &page_id, &format!("token={}", stranger.access)).await.err(),
        Some(404),
        "another organization's page"
    );
    assert_eq!(
        YClient::connect(&app, "no-such-page", &format!("token={}", owner.access)).await.err(),
        Some(404),
        "an unknown page"
    );
    // The REST companions check the same.
    app.get(&format!("/api/v1/collab/pages/{page_id}/presence"), None).await.expect(401);
    app.get(&format!("/api/v1/collab/pages/{page_id}/presence"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/collab/pages/{page_id}/replays"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/collab/pages/{page_id}/at?time=yesterday"), Some(&owner.access))
        .await
        .expect_field_error(422, "time");

    // A share link views, read-only: its edits are neither applied nor relayed.
    let (mut viewer, link_id) = share_viewer(&app, &owner, &project, &page_id).await;
    let mut editor = YClient::editor(&app, &page_id, &owner).await;
    editor.until("the page", |d| first_text(d) == "Hello").await;
    viewer.edit(|txn| heading_text(txn).push(txn, " (viewer)")).await;
    editor.edit(|txn| heading_text(txn).push(txn, " (editor)")).await;
    viewer.until("the editor's edit", |d| first_text(d).contains("(editor)")).await;
    editor.settle(Duration::from_millis(300)).await;
    assert_eq!(first_text(&editor.json()), "Hello (editor)", "the viewer's edit is not relayed");
    let rest = app.get(&format!("/api/v1/studio/projects/{project}/pages/{page_id}"), Some(&owner.access)).await;
    assert_eq!(first_text(&rest.body["document"]), "Hello (editor)", "nor applied");

    // Revoking the link closes the viewer; removing a member closes theirs.
    app.delete(&format!("/api/v1/studio/projects/{project}/share-links/{link_id}"), Some(&owner.access))
        .await
        .expect(204);
    assert_eq!(viewer.closed_with().await, 4403);
    let member = app.signup("leaver@collab.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let mut leaving = YClient::editor(&app, &page_id, &member).await;
    leaving.until("the page", |d| first_text(d).starts_with("Hello")).await;
    app.delete(&format!("/api/v1/foundation/organizations/{org}/members/{}", member.user_id), Some(&owner.access))
        .await
        .expect(204);
    assert_eq!(leaving.closed_with().await, 4403);
    // Deleting the page closes its room's editors too.
    app.delete(&format!("/api/v1/studio/projects/{project}/pages/{page_id}"), Some(&owner.access)).await.expect(204);
    assert_eq!(editor.closed_with().await, 4403);
    crate::eventually!("the deleted page's live history to go", {
        let left: i64 = app
            .db
            .scalar("SELECT COUNT(*) FROM collab_updates WHERE page_id = $1", kernel::args![&page_id])
            .await
            .expect("count");
        (left == 0).then_some(())
    });
}

/// How many connections the page's room holds, as its presence endpoint says.
async fn connections(app: &TestApp, page_id: &str, who: &Session) -> i64 {
    let presence = app.get(&format!("/api/v1/collab/pages/{page_id}/presence"), Some(&who.access)).await.expect(200);
    presence.body["connections"].as_i64().expect("connections")
}

/// A client that vanished (it sends nothing, not even the pong its WebSocket answers a ping
/// with as it reads) and one that stopped reading while it still sends are both dropped
/// within a few `ping_secs`, while the room relays plenty to them; an editor beside them
/// keeps editing.
async fn unresponsive_connections_are_dropped(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("collab", |s: &mut collab::settings::CollabConfig| s.ping_secs = 1).expect("collab settings");
    })
    .await;
    let (owner, _org, _project, page_id) = page_setup(&app, "liveness@collab.example").await;
    let mut editor = YClient::editor(&app, &page_id, &owner).await;
    editor.until("the page", |d| first_text(d) == "Hello").await;

    // Vanished: connected, then never reads again (so never answers a ping).
    let vanished = YClient::editor(&app, &page_id, &owner).await;
    // Stopped reading: a receive buffer of a few KiB, never read, while it keeps asking for
    // presence (it is heard from, but never answers a ping).
    let url = format!("{}/api/v1/collab/pages/{page_id}?token={}", app.base.replace("http://", "ws://"), owner.access);
    let addr = app.base.trim_start_matches("http://").parse().expect("server address");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("receive buffer");
    let tcp = socket.connect(addr).await.expect("connect");
    let (mut stalled, _) = tokio_tungstenite::client_async(url, tcp).await.expect("handshake");
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let chatter = tokio::spawn(async move {
        loop {
            // Its own sends may block once the server stops reading it: bounded.
            let query = frame(Message::AwarenessQuery);
            let _ = tokio::time::timeout(Duration::from_millis(100), stalled.send(query)).await;
            tokio::select! {
                _ = &mut stopped => return stalled,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    });
    crate::eventually!("three connections in the room", {
        (connections(&app, &page_id, &owner).await == 3).then_some(())
    });

    // Traffic for them: 100 edits of 4,000 characters each, typed and deleted again (the
    // page stays valid).
    let chunk = "y".repeat(4000);
    for _ in 0..100 {
        editor
            .edit(|txn| {
                let text = heading_text(txn);
                let len = text.len(txn);
                text.insert(txn, len, &chunk);
                text.remove_range(txn, len, chunk.len() as u32);
            })
            .await;
    }
    editor.edit(|txn| heading_text(txn).push(txn, " still here")).await;
    crate::eventually!("both unresponsive connections to be dropped", {
        // The live editor keeps reading (and answering pings) meanwhile.
        editor.settle(Duration::from_millis(50)).await;
        (connections(&app, &page_id, &owner).await == 1).then_some(())
    });
    assert_eq!(editor.closed, None, "the live editor stays connected");
    let _ = stop.send(());
    drop(chatter.await.expect("the stalled client's task"));
    drop(vanished);
    // Past a few more pings, the live editor is still there and still edits.
    editor.settle(Duration::from_millis(2500)).await;
    assert_eq!(editor.closed, None, "the live editor answered every ping");
    let mut late = YClient::editor(&app, &page_id, &owner).await;
    late.until("the live editor's last edit", |d| first_text(d) == "Hello still here").await;
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let dropped: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("socle_collab_unresponsive_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("socle_collab_unresponsive_total in {metrics}"));
    assert!(dropped >= 2.0, "two unresponsive connections counted, {dropped}");
}

/// Removing a member or revoking a share link closes their open connections at once, not at
/// the next periodic check (an hour away here): the change is announced with its commit, to
/// this process and, on PostgreSQL, with `pg_notify` to the others.
async fn revoked_access_closes_editors_at_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("collab", |s: &mut collab::settings::CollabConfig| s.recheck_secs = 3600)
            .expect("collab settings");
    })
    .await;
    let (owner, org, project, page_id) = page_setup(&app, "revoke@collab.example").await;
    let mut listener = match &app.database_url {
        Some(url) => {
            let mut l = sqlx::postgres::PgListener::connect(url).await.expect("a LISTEN connection");
            l.listen(kernel::access_changes::CHANNEL).await.expect("LISTEN");
            Some(l)
        }
        None => None,
    };
    let member = app.signup("revoked@collab.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let mut leaving = YClient::editor(&app, &page_id, &member).await;
    leaving.until("the page", |d| first_text(d) == "Hello").await;
    let (mut viewer, link_id) = share_viewer(&app, &owner, &project, &page_id).await;
    let mut staying = YClient::editor(&app, &page_id, &owner).await;
    staying.until("the page", |d| first_text(d) == "Hello").await;

    app.delete(&format!("/api/v1/foundation/organizations/{org}/members/{}", member.user_id), Some(&owner.access))
        .await
        .expect(204);
    assert_eq!(leaving.closed_with().await, 4403, "the removed member is disconnected");
    if let Some(l) = listener.as_mut() {
        let heard = tokio::time::timeout(PATIENCE, l.recv()).await.expect("a NOTIFY in time").expect("NOTIFY");
        assert_eq!(heard.channel(), kernel::access_changes::CHANNEL);
    }
    app.delete(&format!("/api/v1/studio/projects/{project}/share-links/{link_id}"), Some(&owner.access))
        .await
        .expect(204);
    assert_eq!(viewer.closed_with().await, 4403, "the revoked link's viewer is disconnected");
    // Everyone else's access is checked too, and holds.
    staying.settle(Duration::from_millis(300)).await;
    assert_eq!(staying.closed, None, "the owner stays connected");
    staying.edit(|txn| heading_text(txn).push(txn, "!")).await;
    let mut late = YClient::editor(&app, &page_id, &owner).await;
    late.until("the owner's edit", |d| first_text(d) == "Hello!").await;
}

async fn history_can_be_replayed_travelled_and_restored(app: TestApp) {
    let (owner, _org, project, page_id) = page_setup(&app, "history@collab.example").await;
    let mut a = YClient::editor(&app, &page_id, &owner).await;
    a.until("the page", |d| first_text(d) == "Hello").await;
    a.edit(|txn| heading_text(txn).push(txn, " one")).await;
    a.until("edit one", |d| first_text(d) == "Hello one").await;
    a.settle(Duration::from_millis(200)).await;
    let between = kernel::time::rfc3339(kernel::time::now());
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.edit(|txn| heading_text(txn).push(txn, " two")).await;
    a.until("edit two", |d| first_text(d) == "Hello one two").await;
    let base = format!("/api/v1/collab/pages/{page_id}");
    let replays = crate::eventually!("the live session's two changes", {
        let r = app.get(&format!("{base}/replays"), Some(&owner.access)).await.expect(200);
        r.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|s| s["kind"] == "live" && s["changes"] == 2).cloned())
    });
    let replay_id = replays["id"].as_str().expect("replay id");
    let detail = app.get(&format!("{base}/replays/{replay_id}"), Some(&owner.access)).await.expect(200);
    let updates = detail.body["updates"].as_array().expect("updates");
    assert_eq!(updates.len(), 2);
    // Playing the session back onto the page before it gives the page after it.
    let before = app
        .get(
            &format!("{base}/at?time={}", kernel::time::rfc3339(kernel::time::now() - time::Duration::hours(1))),
            Some(&owner.access),
        )
        .await;
    assert_eq!(before.status, 422, "before the page existed there is no history: {:?}", before.body);
    let at = app.get(&format!("{base}/at?time={between}"), Some(&owner.access)).await.expect(200);
    assert_eq!(first_text(&at.body["document"]), "Hello one");
    let replayed = collab::mapping::new_doc();
    let seed = app.get(&format!("{base}/replays"), Some(&owner.access)).await.expect(200);
    let seed_id =
        seed.body["items"].as_array().and_then(|i| i.iter().find(|s| s["kind"] == "seed")).expect("seed session")["id"]
            .as_str()
            .expect("id")
            .to_string();
    let seed_updates = app.get(&format!("{base}/replays/{seed_id}"), Some(&owner.access)).await.expect(200);
    use base64::Engine;
    for u in seed_updates.body["updates"].as_array().expect("seed updates").iter().chain(updates) {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(u["update"].as_str().expect("b64")).expect("base64");
        replayed.transact_mut().apply_update(Update::decode_v1(&bytes).expect("update")).expect("apply");
    }
    assert_eq!(first_text(&collab::mapping::to_json(&replayed)), "Hello one two");
    // The session also plays back on its own: its base is the page just before its first
    // change ("Hello"), and its updates make it "Hello one two".
    let alone = collab::mapping::new_doc();
    let decode =
        |v: &Value| base64::engine::general_purpose::STANDARD.decode(v.as_str().expect("b64")).expect("base64");
    let base_state = decode(&detail.body["base"]);
    alone.transact_mut().apply_update(Update::decode_v1(&base_state).expect("base")).expect("apply");
    assert_eq!(first_text(&collab::mapping::to_json(&alone)), "Hello");
    for u in updates {
        alone.transact_mut().apply_update(Update::decode_v1(&decode(&u["update"])).expect("update")).expect("apply");
    }
    assert_eq!(first_text(&collab::mapping::to_json(&alone)), "Hello one two");
    // Sessions that changed nothing (a viewer's) are left out on request.
    let mut viewer = YClient::editor(&app, &page_id, &owner).await;
    viewer.until("the page", |d| first_text(d) == "Hello one two").await;
    let all = app.get(&format!("{base}/replays"), Some(&owner.access)).await.expect(200).body;
    let changed = app.get(&format!("{base}/replays?with_changes=true"), Some(&owner.access)).await.expect(200).body;
    assert!(
        changed["total_items"].as_i64() < all["total_items"].as_i64(),
        "the viewer's empty session is left out: {changed} / {all}"
    );
    assert!(
        changed["items"].as_array().is_some_and(|i| i.iter().all(|s| s["changes"].as_i64() > Some(0))),
        "{changed}"
    );
    app.get(&format!("{base}/replays?with_changes=maybe"), Some(&owner.access))
        .await
        .expect_field_error(422, "with_changes");
    drop(viewer);

    // Restore to the time between the edits: a new change, seen by the editor, audited.
    let restored =
        app.post(&format!("{base}/restore"), Some(&owner.access), json!({"time": between})).await.expect(200);
    assert_eq!(first_text(&restored.body), "Hello one");
    a.until("the restore", |d| first_text(d) == "Hello one").await;
    assert!(app.audit_actions().await.iter().any(|a| a == "PAGE_LIVE_RESTORED"));
    app.post(&format!("{base}/restore"), Some(&owner.access), json!({})).await.expect_field_error(422, "time");
    // …or to a Studio version (version 1: the page as created).
    app.post(&format!("{base}/restore"), Some(&owner.access), json!({"version": 1})).await.expect(200);
    a.until("version 1", |d| first_text(d) == "Hello").await;

    // The whole history exports as gzip JSON.
    let export =
        app.client.get(app.url(&format!("{base}/history"))).bearer_auth(&owner.access).send().await.expect("export");
    assert_eq!(export.status(), 200);
    let gz = export.bytes().await.expect("body");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).expect("gzip");
    let history: Value = serde_json::from_str(&text).expect("json");
    assert!(history["updates"].as_array().is_some_and(|u| u.len() >= 4), "{history}");

    // Leaving is a save point: the live document becomes a Studio version.
    drop(a);
    let pages = format!("/api/v1/studio/projects/{project}/pages/{page_id}/versions");
    crate::eventually!("a version from the live session", {
        let v = app.get(&pages, Some(&owner.access)).await.expect(200);
        (v.body.as_array().map_or(0, |v| v.len()) >= 2).then_some(())
    });
    let latest = app.get(&format!("{pages}/2"), Some(&owner.access)).await.expect(200);
    assert_eq!(first_text(&latest.body["document"]), "Hello", "the version holds the live document");

    // Admins list and delete replays; others may not.
    app.get("/api/v1/admin/collab/replays", Some(&owner.access)).await.expect(403);
    let admin = app.admin("root@collab.example").await;
    let all = app.get("/api/v1/admin/collab/replays", Some(&admin.access)).await.expect(200);
    let listed = all.body["items"].as_array().and_then(|i| i.iter().find(|s| s["id"] == replay_id).cloned());
    let listed = listed.expect("the replay is listed");
    assert_eq!(
        (&listed["page_name"], &listed["organization_name"], &listed["page_id"]),
        (&json!("Home"), &json!("Collab Org"), &json!(page_id)),
        "the admin's list names the page and the organization"
    );
    assert!(listed["project_name"].is_string(), "{listed}");
    assert!(listed["user_name"].is_string(), "the editor is named: {listed}");
    app.delete(&format!("/api/v1/admin/collab/replays/{replay_id}"), Some(&admin.access)).await.expect(204);
    app.get(&format!("{base}/replays/{replay_id}"), Some(&owner.access)).await.expect(404);
    let now = app.get(&format!("/api/v1/studio/projects/{project}/pages/{page_id}"), Some(&owner.access)).await;
    assert_eq!(first_text(&now.body["document"]), "Hello", "deleting a replay does not change the page");
}

/// An app whose rooms checkpoint their log every 3 rows.
async fn checkpointing_often(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.update_section("collab", |s: &mut collab::settings::CollabConfig| s.checkpoint_every = 3).expect("settings");
    })
    .await
}

/// How many checkpoints the log of `page_id` has.
async fn checkpoints(app: &TestApp, page_id: &str) -> i64 {
    app.db
        .scalar(
            "SELECT COUNT(*) FROM collab_snapshots WHERE page_id = $1 AND kind = 'checkpoint'",
            kernel::args![page_id],
        )
        .await
        .expect("count")
}

async fn a_page_survives_a_restart(backend: Backend) {
    let mut app = checkpointing_often(backend).await;
    let (owner, _org, _project, page_id) = page_setup(&app, "restart@collab.example").await;
    let mut a = YClient::editor(&app, &page_id, &owner).await;
    a.until("the page", |d| first_text(d) == "Hello").await;
    for word in ["a", "b", "c", "d", "e"] {
        a.edit(|txn| heading_text(txn).push(txn, word)).await;
    }
    a.until("five edits", |d| first_text(d) == "Helloabcde").await;
    a.settle(Duration::from_millis(200)).await;
    drop(a);
    app.restart().await;
    let owner = app.login(&owner.email, crate::support::PASSWORD).await;
    let mut b = YClient::editor(&app, &page_id, &owner).await;
    b.until("the state from before the restart", |d| first_text(d) == "Helloabcde").await;
    assert_eq!(checkpoints(&app, &page_id).await, 1, "the log was checkpointed");

    if backend != Backend::Postgres {
        return;
    }
    // A checkpoint up to a row may lack rows below it that another process committed just
    // after it was taken (ids are not committed in order on PostgreSQL): here, a checkpoint
    // made to claim two rows it does not hold. Loading still applies them.
    b.edit(|txn| heading_text(txn).push(txn, "f")).await;
    b.edit(|txn| heading_text(txn).push(txn, "g")).await;
    b.until("two more edits", |d| first_text(d) == "Helloabcdefg").await;
    b.settle(Duration::from_millis(200)).await;
    drop(b);
    app.db
        .execute(
            "UPDATE collab_snapshots SET upto_id = (SELECT MAX(id) FROM collab_updates WHERE page_id = $1)
             WHERE page_id = $1 AND kind = 'checkpoint'",
            kernel::args![&page_id],
        )
        .await
        .expect("the checkpoint moved");
    // And the Studio page's JSON older than the log (else, newer, it would win on load).
    app.db
        .execute(
            "UPDATE studio_pages SET updated_at = $2 WHERE id = $1",
            kernel::args![&page_id, kernel::time::now() - time::Duration::hours(1)],
        )
        .await
        .expect("the page made older");
    app.restart().await;
    let owner = app.login(&owner.email, crate::support::PASSWORD).await;
    let mut c = YClient::editor(&app, &page_id, &owner).await;
    c.until("the rows the checkpoint lacks", |d| first_text(d) == "Helloabcdefg").await;
}

/// An update that yrs 0.28 applies without an error, but keeps waiting for what it depends
/// on in a form that does not decode again (found by fuzzing yrs with mutated updates): yrs's
/// own whole-document encoding panics on it. One editor sending it must not break the page for
/// anyone: the room still relays and checkpoints, a late joiner is synced, time travel
/// answers, and the page loads after a restart.
async fn a_malformed_update_does_not_break_the_page(backend: Backend) {
    let mut app = checkpointing_often(backend).await;
    let (owner, _org, _project, page_id) = page_setup(&app, "malformed@collab.example").await;
    let mut a = YClient::editor(&app, &page_id, &owner).await;
    a.until("the page", |d| first_text(d) == "Hello").await;
    let mut b = YClient::editor(&app, &page_id, &owner).await;
    b.until("the page", |d| first_text(d) == "Hello").await;
    // Two structs of client 123, which the page has never seen, from its clock 47 (so they
    // wait for clocks 0-46), the first of an odd content kind, and a delete set.
    let waiting: Vec<u8> = vec![
        1, 2, 123, 47, 7, 196, 2, 4, 2, 5, 2, 120, 121, 40, 1, 4, 112, 97, 103, 101, 2, 107, 50, 1, 125, 0, 1, 2, 1, 0,
        1,
    ];
    a.ws.send(frame(Message::Sync(SyncMessage::Update(waiting)))).await.expect("send the update");
    // Past `checkpoint_every` rows: the room checkpoints the document.
    for word in ["a", "b", "c", "d"] {
        b.edit(|txn| heading_text(txn).push(txn, word)).await;
    }
    a.until("B's edits", |d| first_text(d) == "Helloabcd").await;
    crate::eventually!("a checkpoint of the page", { (checkpoints(&app, &page_id).await > 0).then_some(()) });
    b.edit(|txn| heading_text(txn).push(txn, "e")).await;
    a.until("an edit after the checkpoint", |d| first_text(d) == "Helloabcde").await;
    let mut late = YClient::editor(&app, &page_id, &owner).await;
    late.until("the page", |d| first_text(d) == "Helloabcde").await;
    let now = kernel::time::rfc3339(kernel::time::now());
    let at = app.get(&format!("/api/v1/collab/pages/{page_id}/at?time={now}"), Some(&owner.access)).await.expect(200);
    assert_eq!(first_text(&at.body["document"]), "Helloabcde");
    drop((a, b, late));
    app.restart().await;
    let owner = app.login(&owner.email, crate::support::PASSWORD).await;
    let mut after = YClient::editor(&app, &page_id, &owner).await;
    after.until("the page after a restart", |d| first_text(d) == "Helloabcde").await;
}

/// A client sending garbage: valid messages with bytes changed, inserted or cut, two run
/// together, text frames, empty frames (a fixed seed). Whatever it sends, it is at worst
/// closed with 4400 and reconnects; an editor beside it is never closed; the page stays
/// valid and editable, for editors who join afterwards too.
#[tokio::test]
async fn random_frames_never_break_a_room() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (owner, _org, project, page_id) = page_setup(&app, "garbage@collab.example").await;
    let mut bystander = YClient::editor(&app, &page_id, &owner).await;
    bystander.until("the page", |d| first_text(d) == "Hello").await;
    let mut sender = YClient::editor(&app, &page_id, &owner).await;
    sender.until("the page", |d| first_text(d) == "Hello").await;
    // Valid messages to start from, made on the sender's copy (not sent as they are).
    let mut samples = Vec::new();
    for i in 0..8u32 {
        let update = {
            let mut txn = sender.doc.transact_mut();
            heading_text(&mut txn).insert(&mut txn, i % 3, "ab");
            if i % 2 == 0 {
                heading_props(&mut txn).insert(&mut txn, "level", i64::from(i % 7));
            }
            if i % 3 == 0 {
                let root = txn.get_or_insert_map("page");
                let Some(Out::YArray(children)) = root.get(&txn, "children") else { panic!("children") };
                yrs::Array::push_back(
                    &children,
                    &mut txn,
                    yrs::MapPrelim::from_iter([("type", yrs::In::from("text"))]),
                );
            }
            txn.encode_update_v1()
        };
        samples.push(Message::Sync(SyncMessage::Update(update)).encode_v1());
    }
    let full = sender.doc.transact().encode_state_as_update_v1(&yrs::StateVector::default());
    samples.push(Message::Sync(SyncMessage::SyncStep2(full)).encode_v1());
    samples.push(Message::Sync(SyncMessage::SyncStep1(sender.doc.transact().state_vector())).encode_v1());
    let mut aw = yrs::sync::Awareness::new(collab::mapping::new_doc());
    aw.set_local_state(json!({"user": {"name": "Fuzz", "color": "#00ff00"}, "cursor": null})).expect("state");
    samples.push(Message::Awareness(aw.update().expect("awareness")).encode_v1());
    samples.push(Message::AwarenessQuery.encode_v1());

    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut expelled = 0;
    for round in 0..300 {
        let mut data = samples[(next() % samples.len() as u64) as usize].clone();
        if next() % 5 == 0 {
            data.extend_from_slice(&samples[(next() % samples.len() as u64) as usize]);
        }
        for _ in 0..1 + next() % 4 {
            let at = (next() % (data.len() as u64 + 1)) as usize;
            match next() % 5 {
                0 if at < data.len() => data[at] = next() as u8,
                1 if at < data.len() => data[at] ^= 1 << (next() % 8),
                2 => data.truncate(at),
                3 => data.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x0f]).for_each(drop),
                _ => data.insert(at, next() as u8),
            }
        }
        let message = match round % 50 {
            0 => WsMessage::Text("not the protocol".into()),
            1 => WsMessage::Binary(Vec::new().into()),
            _ => WsMessage::Binary(data.into()),
        };
        if sender.ws.send(message).await.is_err() || sender.closed.is_some() {
            sender.closed.get_or_insert(1006);
        }
        // Read what came back (not applied: it may hold what the garbage made of the page).
        while sender.closed.is_none() {
            match tokio::time::timeout(Duration::from_millis(2), sender.ws.next()).await {
                Ok(Some(Ok(WsMessage::Close(close)))) => {
                    sender.closed = Some(close.map(|c| u16::from(c.code)).unwrap_or(1005));
                }
                Ok(None | Some(Err(_))) => sender.closed = Some(1006),
                Ok(Some(Ok(_))) => {}
                Err(_) => break,
            }
        }
        if let Some(code) = sender.closed {
            assert_eq!(code, 4400, "the sender of garbage is closed with 4400, not {code}");
            expelled += 1;
            sender = YClient::editor(&app, &page_id, &owner).await;
            sender.settle(Duration::from_millis(20)).await;
        }
    }
    assert!(expelled > 0, "some of the garbage was refused");
    // The bystander was never closed (it reads the relayed frames without applying them).
    loop {
        match tokio::time::timeout(Duration::from_millis(200), bystander.ws.next()).await {
            Err(_) => break,
            Ok(Some(Ok(WsMessage::Close(close)))) => panic!("the bystander was closed: {close:?}"),
            Ok(None | Some(Err(_))) => panic!("the bystander's connection broke"),
            Ok(Some(Ok(_))) => {}
        }
    }
    // Editors joining now get a valid page and edit it together.
    let mut a = YClient::editor(&app, &page_id, &owner).await;
    a.settle(Duration::from_millis(300)).await;
    assert!(studio::pages::document::validate(&a.json(), "/document").is_ok(), "the page is valid: {}", a.json());
    a.edit(|txn| heading_text(txn).push(txn, " still here")).await;
    let mut b = YClient::editor(&app, &page_id, &owner).await;
    b.until("A's edit", |d| first_text(d).ends_with(" still here")).await;
    let rest = format!("/api/v1/studio/projects/{project}/pages/{page_id}");
    let read = crate::eventually!("the Studio page to hold A's edit", {
        let read = app.get(&rest, Some(&owner.access)).await.expect(200);
        first_text(&read.body["document"]).ends_with(" still here").then_some(read)
    });
    assert!(studio::pages::document::validate(&read.body["document"], "/document").is_ok());
}

/// A graceful shutdown (SIGTERM, a deploy) stores what the rooms hold: the page JSON, which
/// live editing stores at most every 500 ms, holds the last edit once the process is gone;
/// editors are closed with 1001 (going away) and reconnect; every editing session is
/// closed with all its changes counted. And a page whose JSON a crashed process left behind
/// the log is stored again when its room next opens.
async fn a_shutdown_stores_live_pages_and_closes_their_editors(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let (owner, _org, project, page_id) = page_setup(&app, "shutdown@collab.example").await;
    let mut a = YClient::editor(&app, &page_id, &owner).await;
    a.until("the page", |d| first_text(d) == "Hello").await;
    let mut b = YClient::editor(&app, &page_id, &owner).await;
    b.until("the page", |d| first_text(d) == "Hello").await;
    // The first edit's batch stores the page JSON; the second, right after, waits for the
    // next half second.
    a.edit(|txn| heading_text(txn).push(txn, " one")).await;
    a.edit(|txn| heading_text(txn).push(txn, " two")).await;
    b.until("both edits", |d| first_text(d) == "Hello one two").await;

    app.restart().await;
    assert_eq!(a.closed_with().await, 1001, "an editor is told the server is going away");
    assert_eq!(b.closed_with().await, 1001);
    let owner = app.login(&owner.email, crate::support::PASSWORD).await;
    let rest = format!("/api/v1/studio/projects/{project}/pages/{page_id}");
    let read = app.get(&rest, Some(&owner.access)).await.expect(200);
    assert_eq!(first_text(&read.body["document"]), "Hello one two", "the page JSON holds the last edit");
    let open: i64 = app
        .db
        .scalar(
            "SELECT COUNT(*) FROM collab_sessions WHERE page_id = $1 AND kind = 'live' AND ended_at IS NULL",
            kernel::args![&page_id],
        )
        .await
        .expect("count");
    assert_eq!(open, 0, "every editing session is closed");
    let changes: i64 = app
        .db
        .scalar(
            "SELECT CAST(COALESCE(SUM(changes), 0) AS BIGINT) FROM collab_sessions WHERE page_id = $1 AND kind = 'live'",
            kernel::args![&page_id],
        )
        .await
        .expect("sum");
    assert_eq!(changes, 2, "the sessions count both edits");

    // As a crashed process would leave it: the page JSON behind the log, and older.
    let mut stale = read.body["document"].clone();
    stale["children"][0]["props"]["text"] = json!("Hello");
    app.db
        .execute(
            "UPDATE studio_pages SET document = $2, updated_at = $3 WHERE id = $1",
            kernel::args![&page_id, stale, kernel::time::now() - time::Duration::hours(1)],
        )
        .await
        .expect("the page JSON made stale");
    let mut c = YClient::editor(&app, &page_id, &owner).await;
    c.until("the logged state", |d| first_text(d) == "Hello one two").await;
    crate::eventually!("the page JSON to be stored again from the log", {
        let read = app.get(&rest, Some(&owner.access)).await.expect(200);
        (first_text(&read.body["document"]) == "Hello one two").then_some(())
    });
}

/// Two `socle serve` processes on one PostgreSQL: editors of one page on each converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_on_two_processes_converge() {
    const SECRET: &str = "a-shared-secret-of-at-least-32-characters";
    let a = TestApp::spawn_with(Backend::Postgres, |c| c.jwt_secret = Some(SECRET.into())).await;
    let url = a.database_url.clone().expect("postgres url");
    let b = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database_url = Some(url.clone());
        c.jwt_secret = Some(SECRET.into());
        c.role = "api".into();
    })
    .await;
    let (owner, _org, _project, page_id) = page_setup(&a, "two@collab.example").await;
    let mut on_a = YClient::editor(&a, &page_id, &owner).await;
    on_a.until("the page", |d| first_text(d) == "Hello").await;
    let mut on_b = YClient::editor(&b, &page_id, &owner).await;
    on_b.until("the page", |d| first_text(d) == "Hello").await;
    on_a.edit(|txn| heading_text(txn).push(txn, " from A")).await;
    on_b.until("A's edit", |d| first_text(d) == "Hello from A").await;
    on_b.edit(|txn| heading_text(txn).insert(txn, 0, "B: ")).await;
    on_a.until("B's edit", |d| first_text(d) == "B: Hello from A").await;

    // Two edits valid alone, made at the same time on each process: together they take the
    // heading past its 10,000 characters. One process repairs the merged page, and everyone
    // ends on the same valid page. The log is locked until both processes have checked their
    // own edit (each then waits to log it), so neither has seen the other's.
    let mut lock = a.db.begin().await.expect("a transaction");
    lock.execute("LOCK TABLE collab_updates IN SHARE MODE", vec![]).await.expect("the log locked");
    on_a.edit(|txn| heading_text(txn).push(txn, &"a".repeat(6_000))).await;
    on_b.edit(|txn| heading_text(txn).push(txn, &"b".repeat(6_000))).await;
    crate::eventually!("both processes waiting to log their edit", {
        let waiting: i64 =
            a.db.scalar(
                "SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 WHERE c.relname = 'collab_updates' AND NOT l.granted",
                vec![],
            )
            .await
            .expect("locks");
        (waiting == 2).then_some(())
    });
    lock.commit().await.expect("the log unlocked");
    let both = {
        let mut sv = on_a.doc.transact().state_vector();
        sv.merge(on_b.doc.transact().state_vector());
        sv
    };
    let valid = |d: &Value| first_text(d).chars().count() <= 10_000;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let seen = on_a.doc.transact().state_vector();
        if both.iter().all(|(client, clock)| seen.get(client) >= *clock) && valid(&on_a.json()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "waited for a valid merged page: {}", on_a.json());
        on_a.pump_once(Duration::from_millis(100)).await;
    }
    on_b.until("the same page", |d| *d == on_a.json()).await;
    // One process repaired it, as one logged change of the system's.
    let repairs: Vec<(String,)> =
        a.db.fetch_all(
            "SELECT author_id FROM collab_updates WHERE page_id = $1 AND kind = 'repair'",
            kernel::args![&page_id],
        )
        .await
        .expect("repairs");
    assert_eq!(repairs, vec![("system".to_string(),)]);
    let rest = format!("/api/v1/collab/pages/{page_id}/at?time={}", kernel::time::rfc3339(kernel::time::now()));
    let logged = a.get(&rest, Some(&owner.access)).await.expect(200).body;
    assert!(valid(&logged["document"]), "the log ends on a valid page: {logged}");
}

/// A page, its owner and a member, a share link and a stranger: the config the interop
/// harnesses of `tests/collab` read (see its README).
async fn interop_config(app: &TestApp, email: &str) -> Value {
    let (owner, org, project, page_id) = page_setup(app, email).await;
    let member = app.signup(&format!("member-{email}")).await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let link = app
        .post(&format!("/api/v1/studio/projects/{project}/share-links"), Some(&owner.access), json!({}))
        .await
        .expect(201);
    let stranger = app.signup(&format!("stranger-{email}")).await;
    json!({
        "ws_base": format!("{}/api/v1/collab/pages", app.base.replace("http://", "ws://")),
        "http_base": app.base,
        "project_id": project,
        "page_id": page_id,
        "tokens": [owner.access, member.access],
        "share_token": link.body["token"],
        "foreign_token": stranger.access,
    })
}

/// Run an interop harness of `tests/collab` (`program args…`) with `config`; its scenarios'
/// JSON lines, each checked to be ok.
async fn run_interop(program: &str, args: &[&str], config: &Value) -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("collab");
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(&dir)
        .env("COLLAB_CONFIG", config.to_string())
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the interop run of {args:?} failed:\n{stdout}\n{stderr}");
    let results: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(results.iter().all(|r| r["ok"] == true), "{stdout}");
    results
}

/// The official npm `yjs` + `y-websocket` clients against a running Socle (tests/collab).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_yjs_clients_interoperate() {
    // Pinged every second: the official clients answer, and none is dropped meanwhile.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.update_section("collab", |s: &mut collab::settings::CollabConfig| s.ping_secs = 1).expect("collab settings");
    })
    .await;
    let config = interop_config(&app, "npm@collab.example").await;
    assert!(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("collab/node_modules/y-websocket").exists(),
        "the Yjs clients are not installed: run `npm ci --prefix tests/collab` (scripts/test does)"
    );
    let results = run_interop("node", &["interop.mjs"], &config).await;
    assert!(results.len() >= 8, "every scenario ran: {results:?}");
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let pinged_out = metrics.lines().find_map(|l| l.strip_prefix("socle_collab_unresponsive_total "));
    assert!(pinged_out.is_none_or(|n| n.trim() == "0"), "an official client did not answer a ping: {pinged_out:?}");
}

/// Another implementation of the protocol: pycrdt's `Provider` (Python) converges with a
/// second one, a late joiner is synced, and a share-link viewer's edits go nowhere.
#[tokio::test]
async fn a_python_yjs_client_interoperates() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let config = interop_config(&app, "pycrdt@collab.example").await;
    let results = run_interop("python3", &["pycrdt_peer.py"], &config).await;
    assert_eq!(results.len(), 3, "every scenario ran: {results:?}");
}
