//! Email over real SMTP: a small SMTP server in the test receives what Socle sends; a server
//! that refuses mail leaves the email job waiting for its retry, with its error and a backoff.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::{Backend, PASSWORD, TestApp};
use crate::{eventually, on_both_backends};

#[derive(Debug, Clone, Default)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server (RFC 5321 happy path). `accept`: whether DATA is accepted.
async fn smtp_server(accept: bool) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let store = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut mail = Received::default();
                let _ = write.write_all(b"220 test.smtp ESMTP ready\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-test.smtp\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        mail.from = line[10..].trim().to_string();
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        mail.to.push(line[8..].trim().to_string());
                        b"250 OK\r\n"
                    } else if upper.starts_with("DATA") {
                        if !accept {
                            b"554 5.7.1 rejected by test server\r\n"
                        } else {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            while let Ok(Some(data)) = lines.next_line().await {
                                if data == "." {
                                    break;
                                }
                                mail.data.push_str(&data);
                                mail.data.push('\n');
                            }
                            if let Ok(mut inbox) = store.lock() {
                                inbox.push(std::mem::take(&mut mail));
                            }
                            b"250 queued\r\n"
                        }
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
                        b"250 OK\r\n"
                    } else {
                        b"502 not implemented\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, inbox)
}

on_both_backends!(
    emails_are_delivered_over_smtp,
    refused_emails_stay_queued_with_backoff,
    sign_in_codes_arrive_over_smtp_and_sign_in
);

async fn emails_are_delivered_over_smtp(backend: Backend) {
    let (port, inbox) = smtp_server(true).await;
    let app = TestApp::spawn_with(backend, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.mail_from = "Socle Test <robot@socle.test>".into();
    })
    .await;
    app.post(
        "/api/v1/foundation/auth/register",
        None,
        json!({"email": "smtp-user@example.com", "password": PASSWORD, "first_name": "S", "last_name": "Mtp"}),
    )
    .await
    .expect(202);
    let mail = eventually!("the SMTP server to receive the activation email", {
        inbox.lock().ok().and_then(|i| i.first().cloned())
    });
    assert_eq!(mail.from, "<robot@socle.test>");
    assert_eq!(mail.to, vec!["<smtp-user@example.com>".to_string()]);
    assert!(mail.data.contains("Subject: Activate your Socle account"));
    assert!(mail.data.contains("multipart/alternative") && mail.data.contains("text/html"));
    // The email job is marked succeeded (after the server took the message: waited for);
    // nothing went to the folder.
    app.settled().await;
    let (sent, all): (i64, i64) = app
        .db
        .fetch_one(
            "SELECT COUNT(*) FILTER (WHERE status = 'succeeded'), COUNT(*) FROM jobs WHERE kind = 'email.send'",
            vec![],
        )
        .await
        .expect("count");
    assert_eq!((sent, all), (1, 1));
    assert!(app.emails().is_empty());
}

async fn refused_emails_stay_queued_with_backoff(backend: Backend) {
    let (port, inbox) = smtp_server(false).await;
    let app = TestApp::spawn_with(backend, |c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    app.post("/api/v1/foundation/auth/request-password-reset", None, json!({"email": "nobody@example.com"}))
        .await
        .expect(202);
    app.post(
        "/api/v1/foundation/auth/register",
        None,
        json!({"email": "refused@example.com", "password": PASSWORD, "first_name": "R", "last_name": "Efused"}),
    )
    .await
    .expect(202);
    let (status, attempts, error, next, failed_at) = eventually!("a delivery attempt", {
        let row: Option<(String, i64, Option<String>, time::OffsetDateTime, time::OffsetDateTime)> = app
            .db
            .fetch_optional(
                "SELECT status, attempts, last_error, run_at, updated_at FROM jobs
                 WHERE kind = 'email.send' AND status = 'failed'",
                vec![],
            )
            .await
            .expect("row");
        row
    });
    assert_eq!(status, "failed", "waiting for its retry, not dropped");
    assert_eq!(attempts, 1);
    assert!(error.is_some_and(|e| e.contains("554")));
    // Measured from the failure (when the job was updated), not from when this test got to
    // look: the first backoff is 10 s plus up to 20 % jitter.
    let wait = next - failed_at;
    assert!(
        wait >= time::Duration::seconds(10) && wait <= time::Duration::seconds(12),
        "first backoff 10 s + up to 20 %, got {wait}"
    );
    assert!(inbox.lock().map(|i| i.is_empty()).unwrap_or(false));
}

/// A passwordless sign-in whose code is read from what the SMTP server received.
async fn sign_in_codes_arrive_over_smtp_and_sign_in(backend: Backend) {
    let (port, inbox) = smtp_server(true).await;
    let app = TestApp::spawn_with(backend, |c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let admin = app.admin("otp-smtp@example.com").await;
    let sent = app
        .post("/api/v1/foundation/auth/sign-in-code", None, json!({"email": "otp-smtp@example.com"}))
        .await
        .expect(202);
    let otp_id = sent.body["otp_id"].as_str().expect("otp_id").to_string();
    let mail = eventually!("the SMTP server to receive the sign-in code", {
        inbox.lock().ok().and_then(|i| i.iter().find(|m| m.data.contains("sign-in code")).cloned())
    });
    assert_eq!(mail.to, vec!["<otp-smtp@example.com>".to_string()]);
    // The server collected the lines without their CRLF; the parser expects them.
    let text = crate::support::parse_email(&mail.data.replace('\n', "\r\n")).text;
    let code = text
        .lines()
        .find_map(|l| l.split_once("Sign-in code: ").map(|(_, c)| c.trim().to_string()))
        .unwrap_or_else(|| panic!("no code in {text}"));
    let signed_in = app
        .post("/api/v1/foundation/auth/sign-in-code/verify", None, json!({"otp_id": otp_id, "code": code}))
        .await
        .expect(200);
    assert_eq!(signed_in.body["user"]["id"], serde_json::Value::String(admin.user_id.clone()));
}
