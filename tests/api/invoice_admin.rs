//! Invoices for platform administrators: every invoice with filters, the status rules (a
//! paid invoice is corrected by a refund, never voided), the email sent again with a fresh
//! link, and revenue per month by plan as JSON and CSV; all of it refused to anyone else.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::payments::pay;
use crate::support::{Session, TestApp};

on_both_databases!(administrators_search_resend_and_total_invoices);

const ADMIN_INVOICES: &str = "/api/v1/admin/billing/invoices";

async fn administrators_search_resend_and_total_invoices(mut app: TestApp) {
    crate::payments::settle_at_once(&mut app).await;
    let owner = app.signup("owner@revenue.example").await;
    let org = app.organization(&owner, "Revenue").await;
    // A plan bought, and a one-off payment partly refunded.
    crate::payments::buy_plan(&app, &owner, &org, "PRO").await;
    let one_off = app
        .post(
            "/api/v1/payments/checkout",
            Some(&owner.access),
            json!({"organization_id": org, "amount": 5000, "currency": "EUR", "description": "Consulting",
                "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"}),
        )
        .await
        .expect(201);
    let one_off = one_off.body["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(pay(&app, &one_off, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    app.post(
        &format!("/api/v1/payments/{one_off}/refund"),
        Some(&owner.access),
        json!({"amount": 1000, "reason": "partial"}),
    )
    .await
    .expect(200);
    app.settled().await;

    let admin = app.admin("root@revenue.example").await;
    let all = app.get(ADMIN_INVOICES, Some(&admin.access)).await.expect(200).body;
    assert_eq!(all["total_items"], 3);
    let notes = app.get(&format!("{ADMIN_INVOICES}?kind=credit_note"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(notes["total_items"], 1);
    assert_eq!(notes["items"][0]["total"], -1000);
    let by_org = format!("{ADMIN_INVOICES}?organization_id={org}&status=paid&kind=invoice");
    assert_eq!(app.get(&by_org, Some(&admin.access)).await.expect(200).body["total_items"], 2);
    let other = app.get(&format!("{ADMIN_INVOICES}?organization_id=nobody"), Some(&admin.access)).await.expect(200);
    assert_eq!(other.body["total_items"], 0);
    let first_number = all["items"][2]["number"].as_str().expect("number").to_string();
    let by_number = format!("{ADMIN_INVOICES}?number={}", first_number.trim_start_matches("TEST-"));
    let found = app.get(&by_number, Some(&admin.access)).await.expect(200).body;
    assert_eq!(
        (found["total_items"].as_i64(), found["items"][0]["number"].as_str()),
        (Some(1), Some(first_number.as_str()))
    );
    let today = {
        let now = time::OffsetDateTime::now_utc();
        format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
    };
    let dated = app.get(&format!("{ADMIN_INVOICES}?from={today}&to={today}"), Some(&admin.access)).await.expect(200);
    assert_eq!(dated.body["total_items"], 3);
    app.get(&format!("{ADMIN_INVOICES}?status=lost"), Some(&admin.access)).await.expect_field_error(422, "status");
    app.get(&format!("{ADMIN_INVOICES}?from=yesterday"), Some(&admin.access)).await.expect_field_error(422, "from");

    // A paid invoice is not voided: its payment is refunded instead.
    let invoice_id = all["items"][2]["id"].as_str().expect("id").to_string();
    let status = format!("{ADMIN_INVOICES}/{invoice_id}/status");
    app.put(&status, Some(&admin.access), json!({"status": "void"})).await.expect(409);
    app.put(&status, Some(&admin.access), json!({"status": "lost"})).await.expect_field_error(422, "status");
    app.put(
        &format!("{ADMIN_INVOICES}/0190f0f0-0000-7000-8000-000000000000/status"),
        Some(&admin.access),
        json!({"status": "void"}),
    )
    .await
    .expect(404);

    // The email again, with a link that works without signing in.
    let before = app.matching(&owner.email, "Invoice").len();
    app.post(&format!("{ADMIN_INVOICES}/{invoice_id}/resend"), Some(&admin.access), json!({})).await.expect(202);
    let email = app.wait_for_nth_email(&owner.email, "Invoice", before + 1).await;
    assert!(email.text.contains(&invoice_id), "{}", email.text);
    assert!(app.audit_actions().await.contains(&"INVOICE_RESENT".to_string()));

    // Revenue: the sandbox's test documents on request, real sales by default.
    let revenue = app.get("/api/v1/admin/billing/revenue?test=true", Some(&admin.access)).await.expect(200).body;
    let month = revenue.as_array().and_then(|m| m.last()).cloned().unwrap_or(Value::Null);
    assert_eq!((month["invoices"].as_i64(), month["invoiced"].as_i64()), (Some(2), Some(6900)));
    assert_eq!((month["credited"].as_i64(), month["net"].as_i64()), (Some(-1000), Some(5900)));
    assert_eq!((month["by_plan"]["PRO"].as_i64(), month["by_plan"]["other"].as_i64()), (Some(1900), Some(4000)));
    let real = app.get("/api/v1/admin/billing/revenue", Some(&admin.access)).await.expect(200).body;
    assert_eq!(real, json!([]), "no real sales");
    let csv = app
        .client
        .get(app.url("/api/v1/admin/billing/revenue?test=true&format=csv"))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.expect("text");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("month,currency,invoices,invoiced,credited,net,vat,net_pro,net_other"));
    let row: Vec<&str> = lines.next().expect("a month").split(',').collect();
    assert_eq!((&row[1..6], &row[7..]), (&["EUR", "2", "6900", "-1000", "5900"][..], &["1900", "4000"][..]), "{csv}");
    app.get("/api/v1/admin/billing/revenue?months=0", Some(&admin.access)).await.expect_field_error(422, "months");
    app.get("/api/v1/admin/billing/revenue?format=xls", Some(&admin.access)).await.expect_field_error(422, "format");

    // Only platform administrators.
    for path in [ADMIN_INVOICES.to_string(), "/api/v1/admin/billing/revenue".to_string()] {
        app.get(&path, None).await.expect(401);
        app.get(&path, Some(&owner.access)).await.expect(403);
    }
    app.put(&status, Some(&owner.access), json!({"status": "void"})).await.expect(403);
    app.post(&format!("{ADMIN_INVOICES}/{invoice_id}/resend"), Some(&owner.access), json!({})).await.expect(403);
    app.post(&format!("{ADMIN_INVOICES}/{invoice_id}/resend"), None, json!({})).await.expect(401);
}

on_both_databases!(invoices_follow_the_buyers_country_and_reverse_charge);

async fn invoices_follow_the_buyers_country_and_reverse_charge(mut app: TestApp) {
    app.reconfigure(|c| {
        c.update_section("commerce", |s: &mut commerce::settings::CommerceConfig| {
            s.sandbox_settle_secs = 0;
            s.vat_rates = [("FR".to_string(), 2000), ("DE".to_string(), 1900)].into_iter().collect();
            s.seller_country = "FR".into();
        })
        .expect("commerce settings")
    })
    .await;
    let owner = app.signup("owner@vat.example").await;
    let org = app.organization(&owner, "Müller").await;
    let profile = |vat_id: &str| {
        json!({"organization_id": org, "name": "Müller GmbH", "address": "Unter den Linden 1, Berlin",
            "country": "DE", "vat_id": vat_id, "email": "billing@mueller.example"})
    };
    let saved = app.put("/api/v1/billing/profile", Some(&owner.access), profile("")).await.expect(200).body;
    assert_eq!(saved["country"], "DE");
    let read =
        app.get(&format!("/api/v1/billing/profile?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(read.body, saved);

    let buy = |amount: i64| {
        json!({"organization_id": org, "amount": amount, "currency": "EUR", "description": "Consulting",
            "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"})
    };
    // A German consumer: Germany's 19 %, the profile as buyer, the email to its address.
    let first = app.post("/api/v1/payments/checkout", Some(&owner.access), buy(11_900)).await.expect(201);
    let first = first.body["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(pay(&app, &first, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    let invoice = invoice_of(&app, &owner, &org, &first).await;
    assert_eq!((invoice["vat_rate_bp"].as_i64(), invoice["vat_amount"].as_i64()), (Some(1900), Some(1900)));
    assert_eq!(
        (invoice["buyer"]["name"].as_str(), invoice["buyer"]["country"].as_str()),
        (Some("Müller GmbH"), Some("DE"))
    );
    app.wait_for_email("billing@mueller.example", "Invoice").await;

    // A German business with its VAT number: reverse charge, said on the PDF and the credit note.
    app.put("/api/v1/billing/profile", Some(&owner.access), profile("DE123456789")).await.expect(200);
    let second = app.post("/api/v1/payments/checkout", Some(&owner.access), buy(10_000)).await.expect(201);
    let second = second.body["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(pay(&app, &second, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    let invoice = invoice_of(&app, &owner, &org, &second).await;
    assert_eq!((invoice["vat_rate_bp"].as_i64(), invoice["vat_amount"].as_i64()), (Some(0), Some(0)));
    assert!(
        invoice["vat_mention"].as_str().is_some_and(|m| m.contains("reverse charged") && m.contains("DE123456789"))
    );
    let id = invoice["id"].as_str().expect("id");
    crate::eventually!("the invoice's PDF to be made", {
        let r = app.get(&format!("/api/v1/billing/invoices/{id}"), Some(&owner.access)).await.expect(200);
        (r.body["pdf_ready"] == true).then_some(())
    });
    let pdf =
        app.client.get(app.url(&format!("/api/v1/billing/invoices/{id}/pdf"))).bearer_auth(&owner.access).send().await;
    let text = crate::payments::pdf_text(&pdf.expect("pdf").bytes().await.expect("bytes"));
    assert!(text.contains("reverse charged") && text.contains("DE123456789"), "{text}");
    app.post(&format!("/api/v1/payments/{second}/refund"), Some(&owner.access), json!({"amount": 2500, "reason": "x"}))
        .await
        .expect(200);
    app.settled().await;
    let notes =
        app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&owner.access)).await.expect(200).body;
    let note = notes["items"]
        .as_array()
        .and_then(|i| i.iter().find(|n| n["kind"] == "credit_note").cloned())
        .expect("a credit note");
    assert_eq!((note["vat_rate_bp"].as_i64(), note["vat_amount"].as_i64()), (Some(0), Some(0)));
    assert_eq!(note["vat_mention"], invoice["vat_mention"]);

    // Bad input, and who may see or change the profile.
    let mut bad = profile("");
    bad["country"] = json!("Germany");
    app.put("/api/v1/billing/profile", Some(&owner.access), bad).await.expect_field_error(422, "country");
    app.put("/api/v1/billing/profile", Some(&owner.access), profile("DE-123")).await.expect_field_error(422, "vat_id");
    let mut bad = profile("");
    bad["email"] = json!("nope");
    app.put("/api/v1/billing/profile", Some(&owner.access), bad).await.expect_field_error(422, "email");
    let member = app.signup("member@vat.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let stranger = app.signup("stranger@vat.example").await;
    app.put("/api/v1/billing/profile", Some(&member.access), profile("")).await.expect(403);
    app.get(&format!("/api/v1/billing/profile?organization_id={org}"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/billing/profile?organization_id={org}"), None).await.expect(401);
}

async fn invoice_of(app: &TestApp, who: &Session, org: &str, payment: &str) -> Value {
    let list = app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&who.access)).await;
    list.expect(200).body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["payment_id"] == payment && i["kind"] == "invoice").cloned())
        .expect("the payment's invoice")
}
