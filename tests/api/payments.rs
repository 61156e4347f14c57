//! Payments: the sandbox provider end to end (hosted page → paid, declined, pending then
//! settled, canceled; refunds; the `payment.*` events), Stripe Checkout sessions created
//! against a local server speaking Stripe's API (the request asserted field by field), and
//! Stripe webhooks signed by an independent implementation (Python's `hmac`): valid,
//! tampered, wrong secret, stale, the same event twice at once (one effect); invoices and
//! credit notes numbered without gaps under concurrent payments, their PDF read back by PyPI's
//! `pypdf`, and emailed.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Session, TestApp};

on_both_databases!(
    the_sandbox_takes_payments_end_to_end,
    payment_endpoints_refuse_bad_callers_and_bad_input,
    stripe_checkout_and_webhooks_settle_payments_once,
    invoices_follow_payments_without_gaps,
    plans_are_bought_prorated_and_cancelled,
);

const PAYMENTS: &str = "/api/v1/payments";

fn checkout_body(org: &str, amount: i64) -> Value {
    json!({"organization_id": org, "amount": amount, "currency": "EUR", "description": "Pro plan, one month",
        "purpose": {"kind": "plan", "id": "pro"},
        "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko?from=checkout"})
}

async fn checkout(app: &TestApp, who: &Session, org: &str, amount: i64) -> String {
    let r = app.post(&format!("{PAYMENTS}/checkout"), Some(&who.access), checkout_body(org, amount)).await.expect(201);
    let id = r.body["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(r.body["payment"]["status"], "pending");
    assert_eq!(r.body["checkout_url"], format!("http://socle.test/api/v1/payments/sandbox/checkout/{id}"));
    id
}

/// Settle the sandbox's payments at once (no simulated delay), for a test that pays.
pub async fn settle_at_once(app: &mut TestApp) {
    app.reconfigure(|c| {
        c.update_section("commerce", |s: &mut commerce::settings::CommerceConfig| s.sandbox_settle_secs = 0)
            .expect("commerce settings")
    })
    .await;
}

/// Submit the sandbox page's form as a browser would, without following the redirect:
/// (status, Location).
pub async fn pay(app: &TestApp, id: &str, card: &str, action: &str) -> (u16, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = client
        .post(app.url(&format!("{PAYMENTS}/sandbox/checkout/{id}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("card_number={}&action={action}", card.replace(' ', "+")))
        .send()
        .await
        .expect("the page answers");
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (r.status().as_u16(), location)
}

async fn events(app: &TestApp, kind: &str) -> Vec<Value> {
    let rows: Vec<(String,)> = app
        .db
        .fetch_all("SELECT CAST(payload AS TEXT) FROM outbox WHERE kind = $1 ORDER BY seq", kernel::args![kind])
        .await
        .expect("outbox");
    rows.into_iter().map(|(p,)| serde_json::from_str(&p).expect("json")).collect()
}

async fn the_sandbox_takes_payments_end_to_end(mut app: TestApp) {
    settle_at_once(&mut app).await;
    let owner = app.signup("owner@pay.example").await;
    let org = app.organization(&owner, "Shop").await;

    // Paid.
    let paid = checkout(&app, &owner, &org, 1999).await;
    let page = app.get(&format!("{PAYMENTS}/sandbox/checkout/{paid}"), None).await.expect(200);
    let html = page.body.as_str().expect("html").to_string();
    assert!(html.contains("19.99 EUR") && html.contains("Pro plan, one month"), "{html}");
    assert_eq!(
        pay(&app, &paid, "4242 4242 4242 4242", "pay").await,
        (303, format!("https://shop.test/ok?payment_id={paid}&status=succeeded"))
    );
    let p = app.get(&format!("{PAYMENTS}/{paid}"), Some(&owner.access)).await.expect(200);
    assert_eq!((p.body["status"].as_str(), p.body["amount"].as_i64()), (Some("succeeded"), Some(1999)));
    assert!(p.body["paid_at"].is_string());
    // Once ended, the page says so and takes no second payment.
    assert_eq!(pay(&app, &paid, "4242424242424242", "pay").await.0, 409);
    let announced = events(&app, "payment.succeeded").await;
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0]["payment_id"], Value::String(paid.clone()));
    assert_eq!(announced[0]["purpose"], json!({"kind": "plan", "id": "pro"}));

    // Refunds, in part then the rest; not beyond.
    let r = app
        .post(&format!("{PAYMENTS}/{paid}/refund"), Some(&owner.access), json!({"amount": 500, "reason": "late"}))
        .await
        .expect(200);
    assert_eq!(
        (r.body["status"].as_str(), r.body["amount_refunded"].as_i64()),
        (Some("partially_refunded"), Some(500))
    );
    app.post(&format!("{PAYMENTS}/{paid}/refund"), Some(&owner.access), json!({"amount": 1500}))
        .await
        .expect_field_error(422, "amount");
    let r = app.post(&format!("{PAYMENTS}/{paid}/refund"), Some(&owner.access), json!({})).await.expect(200);
    assert_eq!((r.body["status"].as_str(), r.body["amount_refunded"].as_i64()), (Some("refunded"), Some(1999)));
    app.post(&format!("{PAYMENTS}/{paid}/refund"), Some(&owner.access), json!({})).await.expect(409);
    assert_eq!(events(&app, "payment.refunded").await.len(), 2);

    // Declined: back to the cancel page, failed.
    let declined = checkout(&app, &owner, &org, 500).await;
    assert_eq!(
        pay(&app, &declined, "4000000000000002", "pay").await,
        (303, format!("https://shop.test/ko?from=checkout&payment_id={declined}&status=failed"))
    );
    let d = app.get(&format!("{PAYMENTS}/{declined}"), Some(&owner.access)).await.expect(200);
    assert_eq!((d.body["status"].as_str(), d.body["failure_reason"].as_str()), (Some("failed"), Some("card_declined")));
    app.post(&format!("{PAYMENTS}/{declined}/refund"), Some(&owner.access), json!({})).await.expect(409);

    // Not a test card: the page again, nothing changes.
    let other = checkout(&app, &owner, &org, 700).await;
    assert_eq!(pay(&app, &other, "1234 5678", "pay").await.0, 422);
    // Pending, settled later by the queue.
    assert_eq!(
        pay(&app, &other, "4000 0000 0000 3220", "pay").await.1,
        format!("https://shop.test/ok?payment_id={other}&status=pending")
    );
    app.settled().await;
    assert_eq!(
        app.get(&format!("{PAYMENTS}/{other}"), Some(&owner.access)).await.expect(200).body["status"],
        "succeeded"
    );

    // Canceled on the page.
    let canceled = checkout(&app, &owner, &org, 300).await;
    assert_eq!(
        pay(&app, &canceled, "", "cancel").await.1,
        format!("https://shop.test/ko?from=checkout&payment_id={canceled}&status=canceled")
    );

    let all = app.get(&format!("{PAYMENTS}?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(all.body["total_items"], 4);
    let failed =
        app.get(&format!("{PAYMENTS}?organization_id={org}&status=failed"), Some(&owner.access)).await.expect(200);
    assert_eq!(failed.body["items"][0]["id"], Value::String(declined));
    let actions = app.audit_actions().await;
    assert!(
        actions.iter().any(|a| a == "PAYMENT_STARTED") && actions.iter().any(|a| a == "PAYMENT_REFUNDED"),
        "{actions:?}"
    );
}

async fn payment_endpoints_refuse_bad_callers_and_bad_input(app: TestApp) {
    let owner = app.signup("owner@paybad.example").await;
    let org = app.organization(&owner, "Shop").await;
    let member = app.signup("member@paybad.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let stranger = app.signup("stranger@paybad.example").await;
    let id = checkout(&app, &owner, &org, 1000).await;

    // Unauthenticated.
    app.post(&format!("{PAYMENTS}/checkout"), None, checkout_body(&org, 100)).await.expect(401);
    app.get(&format!("{PAYMENTS}?organization_id={org}"), None).await.expect(401);
    app.get(&format!("{PAYMENTS}/{id}"), None).await.expect(401);
    app.post(&format!("{PAYMENTS}/{id}/refund"), None, json!({})).await.expect(401);
    // Another organization's owner: as if it did not exist.
    app.get(&format!("{PAYMENTS}/{id}"), Some(&stranger.access)).await.expect(404);
    app.post(&format!("{PAYMENTS}/{id}/refund"), Some(&stranger.access), json!({})).await.expect(404);
    app.get(&format!("{PAYMENTS}?organization_id={org}"), Some(&stranger.access)).await.expect(404);
    app.post(&format!("{PAYMENTS}/checkout"), Some(&stranger.access), checkout_body(&org, 100)).await.expect(404);
    // A MEMBER where OWNER or ADMIN is needed.
    app.post(&format!("{PAYMENTS}/checkout"), Some(&member.access), checkout_body(&org, 100)).await.expect(403);
    app.get(&format!("{PAYMENTS}?organization_id={org}"), Some(&member.access)).await.expect(403);
    app.get(&format!("{PAYMENTS}/{id}"), Some(&member.access)).await.expect(403);
    // Malformed: each field named.
    for (change, field) in [
        (json!({"amount": 0}), "amount"),
        (json!({"amount": 100_000_000_i64}), "amount"),
        (json!({"success_url": "http://"}), "success_url"),
        (json!({"cancel_url": "https://shop.test/\u{1}"}), "cancel_url"),
        (json!({"currency": "eur"}), "currency"),
        (json!({"description": ""}), "description"),
        (json!({"success_url": "javascript:alert(1)"}), "success_url"),
        (json!({"cancel_url": "/relative"}), "cancel_url"),
        (json!({"provider": "stripe"}), "provider"),
        (json!({"provider": "bitcoin"}), "provider"),
    ] {
        let mut body = checkout_body(&org, 100);
        if let (Value::Object(b), Value::Object(c)) = (&mut body, change) {
            b.extend(c);
        }
        app.post(&format!("{PAYMENTS}/checkout"), Some(&owner.access), body).await.expect_field_error(422, field);
    }
    app.post(&format!("{PAYMENTS}/checkout"), Some(&owner.access), json!({"amount": "ten"})).await.expect(422);
    app.get(&format!("{PAYMENTS}?organization_id={org}&per_page=0"), Some(&owner.access))
        .await
        .expect_field_error(422, "per_page");
    app.get(&format!("{PAYMENTS}/nope"), Some(&owner.access)).await.expect(404);
    app.get(&format!("{PAYMENTS}/sandbox/checkout/nope"), None).await.expect(404);
    // Webhooks of a provider that is not configured, or unknown.
    app.post(&format!("{PAYMENTS}/webhooks/stripe"), None, json!({"id": "evt"})).await.expect(503);
    app.post(&format!("{PAYMENTS}/webhooks/nope"), None, json!({})).await.expect(404);
}

/// `t=…,v1=…` for `body`, computed by Python's hmac (not by the code under test).
pub(crate) fn stripe_signature(secret: &str, t: i64, body: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), (sys.argv[2] + '.' + sys.argv[3]).encode(), hashlib.sha256).hexdigest())",
            secret,
            &t.to_string(),
            body,
        ])
        .output()
        .expect("python3 runs");
    format!("t={t},v1={}", String::from_utf8_lossy(&out.stdout).trim())
}

pub(crate) async fn deliver(app: &TestApp, signature: Option<&str>, body: &str) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url(&format!("{PAYMENTS}/webhooks/stripe")))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(s) = signature {
        request = request.header("stripe-signature", s);
    }
    request.send().await.expect("the server answers")
}

fn completed(event_id: &str, payment_id: &str, session: &str, amount: i64) -> String {
    json!({"id": event_id, "object": "event", "type": "checkout.session.completed", "data": {"object": {
        "id": session, "object": "checkout.session", "client_reference_id": payment_id,
        "metadata": {"payment_id": payment_id}, "payment_status": "paid", "amount_total": amount, "currency": "eur",
        "payment_intent": format!("pi_{session}")}}})
    .to_string()
}

async fn stripe_checkout_and_webhooks_settle_payments_once(mut app: TestApp) {
    let session = |id: &str| {
        json!({"id": id, "object": "checkout.session", "url": format!("https://checkout.stripe.com/c/pay/{id}")})
            .to_string()
    };
    let refusal = json!({"error": {"type": "invalid_request_error", "message": "No such price"}}).to_string();
    let refunded = json!({"id": "re_1", "object": "refund", "status": "succeeded", "amount": 700}).to_string();
    let (stripe, hits) = crate::http_stub::start(
        vec![(200, session("cs_test_a1")), (200, session("cs_test_a2")), (400, refusal.clone()), (200, refunded)],
        (400, refusal),
    )
    .await;
    let secret = "whsec_test_secret";
    app.reconfigure(|c| {
        c.update_section("stripe", |s: &mut commerce::settings::StripeConfig| {
            s.secret_key = "sk_test_key".into();
            s.webhook_secret = secret.into();
            s.api_base = stripe.clone();
        })
        .expect("stripe settings")
    })
    .await;
    let owner = app.signup("owner@stripe.example").await;
    let org = app.organization(&owner, "Shop").await;
    let mut body = checkout_body(&org, 2500);
    body["provider"] = json!("stripe");
    let created = app.post(&format!("{PAYMENTS}/checkout"), Some(&owner.access), body).await.expect(201);
    assert_eq!(created.body["checkout_url"], "https://checkout.stripe.com/c/pay/cs_test_a1");
    assert_eq!(created.body["payment"]["provider_ref"], "cs_test_a1");
    let id = created.body["payment"]["id"].as_str().expect("id").to_string();
    // The request Stripe received, field by field.
    let hit = hits.lock().expect("hits").first().cloned().expect("a request to Stripe");
    assert_eq!(hit.target, "/v1/checkout/sessions");
    assert_eq!(hit.header("authorization"), Some("Bearer sk_test_key"));
    assert_eq!(hit.header("idempotency-key"), Some(id.as_str()));
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(hit.body.as_bytes()).into_owned().collect();
    for (key, value) in [
        ("mode", "payment"),
        ("client_reference_id", id.as_str()),
        ("metadata[payment_id]", id.as_str()),
        ("metadata[organization_id]", org.as_str()),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", "eur"),
        ("line_items[0][price_data][unit_amount]", "2500"),
        ("line_items[0][price_data][product_data][name]", "Pro plan, one month"),
    ] {
        assert_eq!(form.get(key).map(String::as_str), Some(value), "{key} in {form:?}");
    }
    assert_eq!(form["success_url"], format!("https://shop.test/ok?payment_id={id}&status=succeeded"));

    let now = kernel::time::now().unix_timestamp();
    let event = completed("evt_1", &id, "cs_test_a1", 2500);
    // Refused, changing nothing: no signature, a tampered body, another secret, too old.
    assert_eq!(deliver(&app, None, &event).await.status(), 400);
    let tampered = completed("evt_1", &id, "cs_test_a1", 1);
    assert_eq!(deliver(&app, Some(&stripe_signature(secret, now, &event)), &tampered).await.status(), 400);
    assert_eq!(deliver(&app, Some(&stripe_signature("whsec_other", now, &event)), &event).await.status(), 400);
    assert_eq!(deliver(&app, Some(&stripe_signature(secret, now - 600, &event)), &event).await.status(), 400);
    app.settled().await;
    assert_eq!(app.get(&format!("{PAYMENTS}/{id}"), Some(&owner.access)).await.expect(200).body["status"], "pending");

    // The same event twice at once: both acknowledged, one effect.
    let signature = stripe_signature(secret, now, &event);
    let (a, b) = tokio::join!(deliver(&app, Some(&signature), &event), deliver(&app, Some(&signature), &event));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (a.json().await.expect("json"), b.json().await.expect("json"));
    let mut duplicates = [a["duplicate"].as_bool(), b["duplicate"].as_bool()];
    duplicates.sort();
    assert_eq!(duplicates, [Some(false), Some(true)]);
    // And again later.
    let again: Value =
        deliver(&app, Some(&stripe_signature(secret, now, &event)), &event).await.json().await.expect("json");
    assert_eq!(again["duplicate"], true);
    app.settled().await;
    let paid = app.get(&format!("{PAYMENTS}/{id}"), Some(&owner.access)).await.expect(200);
    assert_eq!(paid.body["status"], "succeeded");
    assert_eq!(events(&app, "payment.succeeded").await.len(), 1);
    let deliveries: i64 =
        app.db.scalar("SELECT COUNT(*) FROM payment_webhook_deliveries", vec![]).await.expect("count");
    assert_eq!(deliveries, 7, "every delivery is recorded, refused ones included");

    // What was paid must be what was asked.
    let mut body = checkout_body(&org, 4000);
    body["provider"] = json!("stripe");
    let short = app.post(&format!("{PAYMENTS}/checkout"), Some(&owner.access), body).await.expect(201);
    let short_id = short.body["payment"]["id"].as_str().expect("id").to_string();
    // A session that is not this payment's (a payment link naming our id) changes nothing.
    let foreign = completed("evt_3", &short_id, "cs_someone_else", 4000);
    assert_eq!(deliver(&app, Some(&stripe_signature(secret, now, &foreign)), &foreign).await.status(), 200);
    app.settled().await;
    assert_eq!(
        app.get(&format!("{PAYMENTS}/{short_id}"), Some(&owner.access)).await.expect(200).body["status"],
        "pending"
    );
    // Money taken, but not what was asked: a person must look; nothing is granted.
    let event = completed("evt_2", &short_id, "cs_test_a2", 100);
    assert_eq!(deliver(&app, Some(&stripe_signature(secret, now, &event)), &event).await.status(), 200);
    app.settled().await;
    let review = app.get(&format!("{PAYMENTS}/{short_id}"), Some(&owner.access)).await.expect(200);
    assert_eq!(review.body["status"], "needs_review");
    assert_eq!(review.body["failure_reason"], "paid 100 where 4000 was due");
    assert_eq!(events(&app, "payment.succeeded").await.len(), 1);
    // With Stripe configured, the sandbox is off: it would hand out free "paid" payments.
    let mut body = checkout_body(&org, 100);
    body["provider"] = json!("sandbox");
    app.post(&format!("{PAYMENTS}/checkout"), Some(&owner.access), body).await.expect_field_error(422, "provider");
    // Stripe refusing a checkout is a 422 that says why, and leaves no payment behind.
    let mut body = checkout_body(&org, 100);
    body["provider"] = json!("stripe");
    let refused =
        app.post(&format!("{PAYMENTS}/checkout"), Some(&owner.access), body).await.expect_field_error(422, "provider");
    assert!(
        refused.body["errors"][0]["message"].as_str().is_some_and(|d| d.contains("No such price")),
        "{}",
        refused.body
    );
    let all = app.get(&format!("{PAYMENTS}?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(all.body["total_items"], 2);
    // A refund names the payment intent the webhook brought; the refund id is the
    // idempotency key. Stripe refusing the next one rolls it back.
    let r = app
        .post(&format!("{PAYMENTS}/{id}/refund"), Some(&owner.access), json!({"amount": 700, "reason": "damaged"}))
        .await
        .expect(200);
    assert_eq!(
        (r.body["status"].as_str(), r.body["amount_refunded"].as_i64()),
        (Some("partially_refunded"), Some(700))
    );
    let refund = hits.lock().expect("hits").get(3).cloned().expect("the refund request");
    assert_eq!(refund.target, "/v1/refunds");
    assert_eq!(refund.header("authorization"), Some("Bearer sk_test_key"));
    assert!(refund.header("idempotency-key").is_some_and(|k| !k.is_empty()));
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(refund.body.as_bytes()).into_owned().collect();
    assert_eq!(
        (form["payment_intent"].as_str(), form["amount"].as_str(), form["metadata[reason]"].as_str()),
        ("pi_cs_test_a1", "700", "damaged")
    );
    app.post(&format!("{PAYMENTS}/{id}/refund"), Some(&owner.access), json!({"amount": 100})).await.expect(409);
    let after = app.get(&format!("{PAYMENTS}/{id}"), Some(&owner.access)).await.expect(200);
    assert_eq!(after.body["amount_refunded"], 700, "the refused refund changed nothing");

    // Deliveries and processed events older than the retention period are purged.
    let old = time::OffsetDateTime::now_utc() - time::Duration::days(100);
    for table in ["payment_webhook_deliveries", "payment_webhook_events"] {
        app.db
            .execute(
                sqlx::AssertSqlSafe(format!("UPDATE {table} SET received_at = $1 WHERE event_id = 'evt_2'")),
                kernel::args![old],
            )
            .await
            .expect("aged");
    }
    assert_eq!(commerce::webhooks::purge(&app.db, 90).await.expect("purge"), 2);
    assert_eq!(commerce::webhooks::purge(&app.db, 90).await.expect("purge"), 0);
}

/// The text of a PDF, read back by PyPI's `pypdf` (installed by `scripts/test`).
pub(crate) fn pdf_text(bytes: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("socle-invoice-{}.pdf", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).expect("write the pdf");
    let out = std::process::Command::new("python3")
        .args(["-c", "import pypdf, sys; print(pypdf.PdfReader(sys.argv[1]).pages[0].extract_text())"])
        .arg(&path)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "pypdf could not read the PDF: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

async fn invoices_follow_payments_without_gaps(app: TestApp) {
    let owner = app.signup("owner@invoice.example").await;
    let org = app.organization(&owner, "Shop").await;
    let year = kernel::time::now().year();
    let first = checkout(&app, &owner, &org, 1999).await;
    assert_eq!(pay(&app, &first, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    let list =
        app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(list.body["total_items"], 1);
    let invoice = &list.body["items"][0];
    // Sandbox payments are tests: their own sequence, not the legal one.
    let number = format!("TEST-INV-{year}-000001");
    assert_eq!(invoice["number"], Value::String(number.clone()));
    assert_eq!(
        (
            invoice["subtotal"].as_i64(),
            invoice["vat_amount"].as_i64(),
            invoice["total"].as_i64(),
            invoice["vat_rate_bp"].as_i64()
        ),
        (Some(1666), Some(333), Some(1999), Some(2000))
    );
    assert_eq!((invoice["status"].as_str(), invoice["pdf_ready"].as_bool()), (Some("paid"), Some(true)));
    assert_eq!(invoice["buyer"]["email"], "owner@invoice.example");
    let id = invoice["id"].as_str().expect("id").to_string();
    // The PDF, read back.
    let pdf = app
        .client
        .get(app.url(&format!("/api/v1/billing/invoices/{id}/pdf")))
        .bearer_auth(&owner.access)
        .send()
        .await
        .expect("pdf");
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/pdf"));
    let text = pdf_text(&pdf.bytes().await.expect("bytes"));
    for expected in [number.as_str(), "19.99 EUR", "16.66 EUR", "3.33 EUR", "Pro plan, one month", "VAT 20.00 %"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    // And by email, with the editable template.
    let mail = app.wait_for_email("owner@invoice.example", &format!("Invoice {number}")).await;
    // Its link works without signing in, and only as signed.
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains(&format!("/api/v1/billing/invoices/{id}/pdf?expires=")))
        .unwrap_or_else(|| panic!("a signed link in {}", mail.text))
        .trim_start_matches("http://socle.test")
        .to_string();
    let by_link = app.client.get(app.url(&link)).send().await.expect("pdf");
    assert_eq!(by_link.status(), 200, "the link {link} of {}", mail.text);
    assert_eq!(pdf_text(&by_link.bytes().await.expect("bytes")), text);
    let flipped = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}", &link[..link.len() - 1]);
    app.get(&forged, None).await.expect(401);
    app.get(&format!("/api/v1/billing/invoices/{id}/pdf"), None).await.expect(401);

    // A refund gives a credit note that names the invoice.
    app.post(&format!("{PAYMENTS}/{first}/refund"), Some(&owner.access), json!({"amount": 600, "reason": "goodwill"}))
        .await
        .expect(200);
    app.settled().await;
    let list =
        app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&owner.access)).await.expect(200);
    let credit = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "credit_note")
        .cloned()
        .expect("a credit note");
    assert_eq!(credit["number"], format!("TEST-CN-{year}-000001"));
    assert_eq!((credit["total"].as_i64(), credit["refers_to"].as_str()), (Some(-600), Some(number.as_str())));
    assert_eq!((credit["subtotal"].as_i64(), credit["vat_amount"].as_i64()), (Some(-500), Some(-100)));
    // The rest, refunded cent by cent at the end: the VAT credited adds up to the invoice's.
    app.post(&format!("{PAYMENTS}/{first}/refund"), Some(&owner.access), json!({"amount": 1398})).await.expect(200);
    app.post(&format!("{PAYMENTS}/{first}/refund"), Some(&owner.access), json!({"amount": 1})).await.expect(200);
    app.settled().await;
    let list =
        app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&owner.access)).await.expect(200);
    let credited: i64 = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "credit_note")
        .map(|i| i["vat_amount"].as_i64().unwrap_or_default())
        .sum();
    assert_eq!(credited, -333, "all the invoice's VAT, no more, no less");

    // Eight payments at once: eight invoices, numbered 2 to 9, no gap, no repeat.
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(checkout(&app, &owner, &org, 1000).await);
    }
    let paid = futures_util::future::join_all(ids.iter().map(|id| pay(&app, id, "4242424242424242", "pay"))).await;
    assert!(paid.iter().all(|(status, _)| *status == 303), "{paid:?}");
    app.settled().await;
    let all = app
        .get(&format!("/api/v1/billing/invoices?organization_id={org}&per_page=50"), Some(&owner.access))
        .await
        .expect(200);
    let mut numbers: Vec<String> = all.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == "invoice")
        .map(|i| i["number"].as_str().expect("number").to_string())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=9).map(|n| format!("TEST-INV-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected);

    // Who may read them.
    let member = app.signup("member@invoice.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let stranger = app.signup("stranger@invoice.example").await;
    let admin = app.admin("root@invoice.example").await;
    app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), None).await.expect(401);
    app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&member.access)).await.expect(403);
    app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/billing/invoices/{id}"), Some(&member.access)).await.expect(403);
    app.get(&format!("/api/v1/billing/invoices/{id}"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/billing/invoices/{id}/pdf"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/billing/invoices/{id}"), Some(&admin.access)).await.expect(200);
    app.get("/api/v1/billing/invoices/nope", Some(&owner.access)).await.expect(404);
    app.get(&format!("/api/v1/billing/invoices?organization_id={org}&page=0"), Some(&owner.access))
        .await
        .expect_field_error(422, "page");
}

async fn plans_are_bought_prorated_and_cancelled(mut app: TestApp) {
    settle_at_once(&mut app).await;
    let plans = app.get("/api/v1/billing/plans", None).await.expect(200);
    let codes: Vec<&str> = plans.body.as_array().expect("plans").iter().filter_map(|p| p["code"].as_str()).collect();
    assert_eq!(codes, ["FREE", "PRO", "BUSINESS", "ENTERPRISE"]);
    assert_eq!(plans.body[1]["price_month"], 1900);
    assert_eq!(plans.body[3]["limits"]["projects"], Value::Null, "no limit");

    let owner = app.signup("owner@plans.example").await;
    let org = app.organization(&owner, "Shop").await;
    let me = format!("/api/v1/billing/me?organization_id={org}");
    let free = app.get(&me, Some(&owner.access)).await.expect(200);
    assert_eq!(
        (free.body["plan"]["code"].as_str(), free.body["plan"]["limits"]["projects"].as_i64()),
        (Some("FREE"), Some(3))
    );

    let subscribe = |plan: &str, period: &str| {
        json!({"organization_id": org, "plan": plan, "period": period,
            "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"})
    };
    // PRO: a checkout; nothing changes until it is paid.
    let pro = app.post("/api/v1/billing/subscribe", Some(&owner.access), subscribe("PRO", "month")).await.expect(200);
    assert_eq!(pro.body["payment"]["amount"], 1900);
    assert_eq!(pro.body["payment"]["purpose_id"], "PRO:month");
    assert_eq!(app.get(&me, Some(&owner.access)).await.expect(200).body["plan"]["code"], "FREE");
    let payment = pro.body["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(pay(&app, &payment, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    let on_pro = app.get(&me, Some(&owner.access)).await.expect(200);
    assert_eq!((on_pro.body["plan"]["code"].as_str(), on_pro.body["period"].as_str()), (Some("PRO"), Some("month")));
    assert!(on_pro.body["current_period_end"].is_string());
    app.post("/api/v1/billing/subscribe", Some(&owner.access), subscribe("PRO", "month")).await.expect(409);

    // BUSINESS now: its price less the unused month of PRO.
    let up =
        app.post("/api/v1/billing/subscribe", Some(&owner.access), subscribe("BUSINESS", "month")).await.expect(200);
    let amount = up.body["payment"]["amount"].as_i64().expect("amount");
    assert!((6000..=6001).contains(&amount), "7900 less almost all of 1900: {amount}");
    let payment = up.body["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(pay(&app, &payment, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    assert_eq!(app.get(&me, Some(&owner.access)).await.expect(200).body["plan"]["code"], "BUSINESS");

    // Cancelled: it runs to the end of its period.
    let canceled =
        app.post("/api/v1/billing/cancel", Some(&owner.access), json!({"organization_id": org})).await.expect(200);
    assert_eq!(
        (canceled.body["plan"]["code"].as_str(), canceled.body["cancel_at_period_end"].as_bool()),
        (Some("BUSINESS"), Some(true))
    );
    app.post("/api/v1/billing/cancel", Some(&owner.access), json!({"organization_id": org})).await.expect(409);

    // Administrators edit the plans.
    let admin = app.admin("root@plans.example").await;
    let edited = app
        .put(
            "/api/v1/admin/billing/plans/PRO",
            Some(&admin.access),
            json!({"price_month": 2500, "limits": {"projects": 25}}),
        )
        .await
        .expect(200);
    assert_eq!(
        (edited.body["price_month"].as_i64(), edited.body["limits"]["projects"].as_i64()),
        (Some(2500), Some(25))
    );
    assert_eq!(edited.body["limits"]["apps"], 5, "other limits kept");
    app.put("/api/v1/admin/billing/plans/PRO", Some(&admin.access), json!({"limits": {"shoe_size": 3}}))
        .await
        .expect_field_error(422, "limits.shoe_size");
    app.put("/api/v1/admin/billing/plans/PRO", Some(&admin.access), json!({"price_year": -1}))
        .await
        .expect_field_error(422, "price_year");
    app.put("/api/v1/admin/billing/plans/NOPE", Some(&admin.access), json!({})).await.expect(404);
    app.put("/api/v1/admin/billing/plans/PRO", Some(&owner.access), json!({})).await.expect(403);
    app.put("/api/v1/admin/billing/plans/PRO", None, json!({})).await.expect(401);

    // Who may see and change an organization's plan; malformed requests.
    let member = app.signup("member@plans.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let stranger = app.signup("stranger@plans.example").await;
    app.get(&me, None).await.expect(401);
    app.get(&me, Some(&member.access)).await.expect(403);
    app.get(&me, Some(&stranger.access)).await.expect(404);
    app.post("/api/v1/billing/subscribe", Some(&member.access), subscribe("PRO", "year")).await.expect(403);
    app.post("/api/v1/billing/subscribe", Some(&stranger.access), subscribe("PRO", "year")).await.expect(404);
    app.post("/api/v1/billing/subscribe", Some(&owner.access), subscribe("GOLD", "month"))
        .await
        .expect_field_error(422, "plan");
    app.post("/api/v1/billing/subscribe", Some(&owner.access), subscribe("PRO", "week"))
        .await
        .expect_field_error(422, "period");
    app.post("/api/v1/billing/cancel", Some(&member.access), json!({"organization_id": org})).await.expect(403);
    app.get("/api/v1/billing/me", Some(&owner.access)).await.expect(422);
}

/// Buy `plan` for a month through the sandbox's page, and wait until it is active.
pub(crate) async fn buy_plan(app: &TestApp, owner: &Session, org: &str, plan: &str) {
    let bought = app
        .post(
            "/api/v1/billing/subscribe",
            Some(&owner.access),
            json!({"organization_id": org, "plan": plan, "period": "month",
                "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"}),
        )
        .await
        .expect(200);
    let payment = bought.body["payment"]["id"].as_str().expect("payment").to_string();
    assert_eq!(pay(app, &payment, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
}
