//! PayPal (Orders v2) and CinetPay against local servers speaking their wire format, every
//! request they receive asserted field by field: PayPal's token, order, capture on the
//! buyer's return, refund of the capture, cancel, and webhooks verified by PayPal's
//! verification call (refused when PayPal says FAILURE, and a capture of another order
//! settles nothing); CinetPay's payment init, its notification (which only triggers a
//! status check) and the return page.

use std::collections::HashMap;

use base64::Engine;
use serde_json::{Value, json};

use crate::http_stub::{Hit, Hits};
use crate::on_both_databases;
use crate::support::{Session, TestApp};

on_both_databases!(paypal_orders_are_captured_refunded_and_verified, cinetpay_payments_are_checked_with_cinetpay);

const PAYMENTS: &str = "/api/v1/payments";

fn hit(hits: &Hits, n: usize) -> Hit {
    hits.lock().expect("hits").get(n).cloned().unwrap_or_else(|| panic!("no request {n} to the provider"))
}

fn json_of(hit: &Hit) -> Value {
    serde_json::from_str(&hit.body).unwrap_or_else(|_| panic!("not JSON: {}", hit.body))
}

async fn checkout(app: &TestApp, owner: &Session, org: &str, provider: &str, amount: i64, currency: &str) -> Value {
    app.post(
        &format!("{PAYMENTS}/checkout"),
        Some(&owner.access),
        json!({"organization_id": org, "amount": amount, "currency": currency, "description": "Consulting, one day",
            "provider": provider, "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"}),
    )
    .await
    .expect(201)
    .body
}

/// Follow a provider's redirect back to Socle, without following Socle's own redirect.
async fn visit(app: &TestApp, path: &str) -> (u16, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = client.get(app.url(path)).send().await.expect("the page answers");
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (r.status().as_u16(), location)
}

fn order(id: &str) -> (u16, String) {
    (
        200,
        json!({"id": id, "status": "PAYER_ACTION_REQUIRED", "links": [
            {"href": format!("https://api-m.paypal.com/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"},
            {"href": format!("https://www.paypal.com/checkoutnow?token={id}"), "rel": "payer-action", "method": "GET"}]})
        .to_string(),
    )
}

fn capture_event(event_id: &str, payment_id: &str, order_id: &str) -> Value {
    json!({"id": event_id, "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource_type": "capture",
        "resource": {"id": format!("CAP-{event_id}"), "status": "COMPLETED", "custom_id": payment_id,
            "amount": {"currency_code": "EUR", "value": "12.50"},
            "supplementary_data": {"related_ids": {"order_id": order_id}}}})
}

async fn deliver_paypal(app: &TestApp, event: &Value, transmission: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("{PAYMENTS}/webhooks/paypal")))
        .header("content-type", "application/json")
        .header("paypal-transmission-id", transmission)
        .header("paypal-transmission-time", "2026-12-06T10:00:00Z")
        .header("paypal-transmission-sig", "c2lnbmF0dXJl")
        .header("paypal-cert-url", "https://api.paypal.com/v1/notifications/certs/CERT-360caa42")
        .header("paypal-auth-algo", "SHA256withRSA")
        .body(event.to_string())
        .send()
        .await
        .expect("delivered")
}

async fn paypal_orders_are_captured_refunded_and_verified(mut app: TestApp) {
    let captured = |order: &str, payment: &str| {
        (
            201,
            json!({"id": order, "status": "COMPLETED", "purchase_units": [{"reference_id": payment, "payments": {
                "captures": [{"id": "3C679366HH908993F", "status": "COMPLETED", "custom_id": payment,
                    "amount": {"currency_code": "EUR", "value": "25.00"}}]}}]})
            .to_string(),
        )
    };
    // The order id and payment id of the first capture are only known later: the stub
    // answers in turn, so its script is built with placeholders that the capture ignores.
    let (paypal, hits) = crate::http_stub::start(
        vec![
            (200, json!({"access_token": "A21AAFEpH4PsADK", "token_type": "Bearer", "expires_in": 32400}).to_string()),
            order("5O190127TN364715T"),
            captured("5O190127TN364715T", "ignored"),
            (201, json!({"id": "1JU08902781691411", "status": "COMPLETED"}).to_string()),
            order("8MC585209K746392H"),
            (200, json!({"verification_status": "FAILURE"}).to_string()),
            (200, json!({"verification_status": "SUCCESS"}).to_string()),
            (200, json!({"verification_status": "SUCCESS"}).to_string()),
            order("9XW12345AB6789012"),
        ],
        (500, json!({"name": "INTERNAL_SERVICE_ERROR"}).to_string()),
    )
    .await;
    app.reconfigure(|c| {
        c.update_section("paypal", |s: &mut commerce::settings::PayPalConfig| {
            s.client_id = "client-1".into();
            s.client_secret = "secret-1".into();
            s.webhook_id = "WH-ID-1".into();
            s.api_base = paypal.clone();
        })
        .expect("paypal settings");
        c.update_section("commerce", |s: &mut commerce::settings::CommerceConfig| s.sandbox = Some(true))
            .expect("commerce settings");
    })
    .await;
    let owner = app.signup("owner@paypal.example").await;
    let org = app.organization(&owner, "Shop").await;

    // The order: a token first, then the order with our payment id, and the buyer's link.
    let created = checkout(&app, &owner, &org, "paypal", 2500, "EUR").await;
    let id = created["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(created["checkout_url"], "https://www.paypal.com/checkoutnow?token=5O190127TN364715T");
    assert_eq!(created["payment"]["provider_ref"], "5O190127TN364715T");
    let token = hit(&hits, 0);
    assert_eq!(token.target, "/v1/oauth2/token");
    let basic = base64::engine::general_purpose::STANDARD.encode("client-1:secret-1");
    assert_eq!(token.header("authorization"), Some(format!("Basic {basic}").as_str()));
    assert_eq!(token.body, "grant_type=client_credentials");
    let create = hit(&hits, 1);
    assert_eq!(create.target, "/v2/checkout/orders");
    assert_eq!(create.header("authorization"), Some("Bearer A21AAFEpH4PsADK"));
    assert_eq!(create.header("paypal-request-id"), Some(id.as_str()));
    let body = json_of(&create);
    assert_eq!(body["intent"], "CAPTURE");
    let unit = &body["purchase_units"][0];
    assert_eq!((unit["custom_id"].as_str(), unit["reference_id"].as_str()), (Some(id.as_str()), Some(id.as_str())));
    assert_eq!(unit["amount"], json!({"currency_code": "EUR", "value": "25.00"}));
    assert_eq!(unit["description"], "Consulting, one day");
    let context = &body["payment_source"]["paypal"]["experience_context"];
    assert_eq!(context["return_url"], format!("http://socle.test/api/v1/payments/paypal/return?payment_id={id}"));
    assert_eq!(context["cancel_url"], format!("http://socle.test/api/v1/payments/paypal/cancel?payment_id={id}"));

    // Back from PayPal: captured (the token is reused), paid, back to the shop.
    let (status, location) =
        visit(&app, &format!("{PAYMENTS}/paypal/return?payment_id={id}&token=5O190127TN364715T&PayerID=QYR5Z8XDVJNXQ"))
            .await;
    assert_eq!(
        (status, location.as_str()),
        (303, format!("https://shop.test/ok?payment_id={id}&status=succeeded").as_str())
    );
    let capture = hit(&hits, 2);
    assert_eq!(capture.target, "/v2/checkout/orders/5O190127TN364715T/capture");
    assert_eq!(capture.header("authorization"), Some("Bearer A21AAFEpH4PsADK"));
    app.settled().await;
    let paid = app.get(&format!("{PAYMENTS}/{id}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!(paid["status"], "succeeded");
    // Coming back twice changes nothing and asks PayPal nothing.
    assert_eq!(visit(&app, &format!("{PAYMENTS}/paypal/return?payment_id={id}")).await.0, 303);

    // A refund of part of it, on the capture.
    let refunded = app
        .post(
            &format!("{PAYMENTS}/{id}/refund"),
            Some(&owner.access),
            json!({"amount": 500, "reason": "late delivery"}),
        )
        .await
        .expect(200);
    assert_eq!(refunded.body["status"], "partially_refunded");
    let refund = hit(&hits, 3);
    assert_eq!(refund.target, "/v2/payments/captures/3C679366HH908993F/refund");
    assert_eq!(
        json_of(&refund),
        json!({"amount": {"currency_code": "EUR", "value": "5.00"}, "note_to_payer": "late delivery"})
    );
    assert!(refund.header("paypal-request-id").is_some_and(|r| !r.is_empty()));

    // A second order settled by webhook: PayPal's verification decides.
    let second = checkout(&app, &owner, &org, "paypal", 1250, "EUR").await;
    let second_id = second["payment"]["id"].as_str().expect("id").to_string();
    let event = capture_event("WH-58D329510W468432D", &second_id, "8MC585209K746392H");
    assert_eq!(deliver_paypal(&app, &event, "69cd13f0-d67a-11e5-baa3-778b53f4ae55").await.status(), 400);
    let verify = json_of(&hit(&hits, 5));
    assert_eq!(hit(&hits, 5).target, "/v1/notifications/verify-webhook-signature");
    assert_eq!(
        (verify["webhook_id"].as_str(), verify["transmission_id"].as_str(), verify["auth_algo"].as_str()),
        (Some("WH-ID-1"), Some("69cd13f0-d67a-11e5-baa3-778b53f4ae55"), Some("SHA256withRSA"))
    );
    assert_eq!(verify["webhook_event"], event);
    app.settled().await;
    assert_eq!(
        app.get(&format!("{PAYMENTS}/{second_id}"), Some(&owner.access)).await.expect(200).body["status"],
        "pending"
    );
    let accepted = deliver_paypal(&app, &event, "69cd13f0-d67a-11e5-baa3-778b53f4ae56").await;
    assert_eq!(accepted.status(), 200);
    // A capture naming our payment but of another order settles nothing.
    let forged = capture_event("WH-FORGED", &second_id, "SOMEONE-ELSES-ORDER");
    assert_eq!(deliver_paypal(&app, &forged, "69cd13f0-d67a-11e5-baa3-778b53f4ae57").await.status(), 200);
    app.settled().await;
    let settled = app.get(&format!("{PAYMENTS}/{second_id}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!((settled["status"].as_str(), settled["amount"].as_i64()), (Some("succeeded"), Some(1250)));

    // The buyer gives up on PayPal's page.
    let third = checkout(&app, &owner, &org, "paypal", 990, "EUR").await;
    let third_id = third["payment"]["id"].as_str().expect("id").to_string();
    let (status, location) = visit(&app, &format!("{PAYMENTS}/paypal/cancel?payment_id={third_id}")).await;
    assert_eq!((status, location), (303, format!("https://shop.test/ko?payment_id={third_id}&status=canceled")));

    // Unknown payments, another provider's payment, a malformed call.
    assert_eq!(visit(&app, &format!("{PAYMENTS}/paypal/return?payment_id=nope")).await.0, 404);
    let sandbox = checkout(&app, &owner, &org, "sandbox", 100, "EUR").await;
    let sandbox_id = sandbox["payment"]["id"].as_str().expect("id");
    assert_eq!(visit(&app, &format!("{PAYMENTS}/paypal/return?payment_id={sandbox_id}")).await.0, 404);
    assert_eq!(visit(&app, &format!("{PAYMENTS}/paypal/return")).await.0, 422);
}

async fn cinetpay_payments_are_checked_with_cinetpay(mut app: TestApp) {
    let check = |status: &str| {
        (
            200,
            json!({"code": if status == "ACCEPTED" { "00" } else { "662" }, "message": status,
                "data": {"amount": "5000", "currency": "XOF", "status": status, "payment_method": "OM",
                    "operator_id": "MP220915.1234.A12345"}})
            .to_string(),
        )
    };
    let (cinetpay, hits) = crate::http_stub::start(
        vec![
            (
                200,
                json!({"code": "201", "message": "CREATED", "description": "Transaction created with success",
                "data": {"payment_token": "8f9a0c", "payment_url": "https://checkout.cinetpay.com/payment/8f9a0c"}})
                .to_string(),
            ),
            check("WAITING_FOR_CUSTOMER_PAYMENT"),
            check("ACCEPTED"),
        ],
        (500, "{}".into()),
    )
    .await;
    app.reconfigure(|c| {
        c.update_section("cinetpay", |s: &mut commerce::settings::CinetPayConfig| {
            s.apikey = "12912847765bc0db748fdd44.40081707".into();
            s.site_id = "445160".into();
            s.api_base = cinetpay.clone();
        })
        .expect("cinetpay settings")
    })
    .await;
    let owner = app.signup("owner@cinetpay.example").await;
    let org = app.organization(&owner, "Boutique").await;

    // Amounts CinetPay cannot take are refused before anything is sent.
    for (amount, currency) in [(5002, "XOF"), (1000, "EUR")] {
        app.post(
            &format!("{PAYMENTS}/checkout"),
            Some(&owner.access),
            json!({"organization_id": org, "amount": amount, "currency": currency, "description": "x",
                "provider": "cinetpay", "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"}),
        )
        .await
        .expect_field_error(422, "amount");
    }
    assert!(hits.lock().expect("hits").is_empty());

    let created = checkout(&app, &owner, &org, "cinetpay", 5000, "XOF").await;
    let id = created["payment"]["id"].as_str().expect("id").to_string();
    assert_eq!(created["checkout_url"], "https://checkout.cinetpay.com/payment/8f9a0c");
    let init = hit(&hits, 0);
    assert_eq!(init.target, "/v2/payment");
    let body = json_of(&init);
    let expected: HashMap<&str, Value> = HashMap::from([
        ("apikey", json!("12912847765bc0db748fdd44.40081707")),
        ("site_id", json!("445160")),
        ("transaction_id", json!(id)),
        ("amount", json!(5000)),
        ("currency", json!("XOF")),
        ("channels", json!("ALL")),
        ("notify_url", json!("http://socle.test/api/v1/payments/webhooks/cinetpay")),
        ("return_url", json!(format!("http://socle.test/api/v1/payments/cinetpay/return?payment_id={id}"))),
    ]);
    for (key, value) in expected {
        assert_eq!(body[key], value, "{key} in {body}");
    }

    // The notification only makes Socle ask: still waiting for the buyer.
    let notify = |form: String| {
        app.client
            .post(app.url(&format!("{PAYMENTS}/webhooks/cinetpay")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    let first = notify(format!("cpm_site_id=445160&cpm_trans_id={id}&cpm_trans_date=2026-12-06")).await.expect("sent");
    assert_eq!(first.status(), 200);
    let asked = json_of(&hit(&hits, 1));
    assert_eq!(hit(&hits, 1).target, "/v2/payment/check");
    assert_eq!(
        asked,
        json!({"apikey": "12912847765bc0db748fdd44.40081707", "site_id": "445160", "transaction_id": id})
    );
    assert_eq!(app.get(&format!("{PAYMENTS}/{id}"), Some(&owner.access)).await.expect(200).body["status"], "pending");

    // Back from CinetPay: accepted.
    let (status, location) = visit(&app, &format!("{PAYMENTS}/cinetpay/return?payment_id={id}")).await;
    assert_eq!((status, location), (303, format!("https://shop.test/ok?payment_id={id}&status=succeeded")));
    app.settled().await;
    assert_eq!(app.get(&format!("{PAYMENTS}/{id}"), Some(&owner.access)).await.expect(200).body["status"], "succeeded");
    // A later notification finds it settled and asks nothing.
    let again: Value = notify(format!("cpm_trans_id={id}")).await.expect("sent").json().await.expect("json");
    assert_eq!(again["duplicate"], true);
    assert_eq!(hits.lock().expect("hits").len(), 3);

    // Refunds go through CinetPay's back office; unknown transactions are refused.
    app.post(&format!("{PAYMENTS}/{id}/refund"), Some(&owner.access), json!({"reason": "x"})).await.expect(409);
    assert_eq!(notify("cpm_trans_id=unknown".into()).await.expect("sent").status(), 400);
    assert_eq!(notify("nothing=here".into()).await.expect("sent").status(), 400);
}
