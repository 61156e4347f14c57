//! Invoices for platform administrators: every invoice with filters, the status rules (a
//! paid invoice is corrected by a refund, never voided), the email sent again with a fresh
//! link, and revenue per month by plan as JSON and CSV; all of it refused to anyone else.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::payments::pay;
use crate::support::TestApp;

on_both_databases!(administrators_search_resend_and_total_invoices);

const ADMIN_INVOICES: &str = "/api/v1/admin/billing/invoices";

async fn administrators_search_resend_and_total_invoices(mut app: TestApp) {
    app.reconfigure(|c| {
        c.update_section("commerce", |s: &mut commerce::settings::CommerceConfig| s.sandbox_settle_secs = 0)
            .expect("commerce settings")
    })
    .await;
    let owner = app.signup("owner@revenue.example").await;
    let org = app.organization(&owner, "Revenue").await;
    // A plan bought, and a one-off payment partly refunded.
    let pro = app
        .post(
            "/api/v1/billing/subscribe",
            Some(&owner.access),
            json!({"organization_id": org, "plan": "PRO", "period": "month",
                "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"}),
        )
        .await
        .expect(200);
    let pro_payment = pro.body["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(pay(&app, &pro_payment, "4242424242424242", "pay").await.0, 303);
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
