//! Saved cards on Stripe, against a local server speaking Stripe's API: the organization
//! becomes a customer, a card is saved through a setup session whose signed webhook makes it
//! the default, cards are listed, another made the default, one removed; a renewal charges
//! the default card off-session (a PaymentIntent, confirmed at once), and when the card needs
//! the buyer the renewal falls back to a checkout link by email.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::eventually;
use crate::http_stub::Hit;
use crate::on_both_databases;
use crate::payments::{deliver, pay, stripe_signature};
use crate::support::TestApp;

on_both_databases!(cards_are_saved_listed_and_charged_for_renewals);

fn form(hit: &Hit) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(hit.body.as_bytes()).into_owned().collect()
}

fn customer(default: Option<&str>) -> (u16, String) {
    (
        200,
        json!({"id": "cus_1", "object": "customer", "invoice_settings": {"default_payment_method": default}})
            .to_string(),
    )
}

fn cards() -> (u16, String) {
    let card = |id: &str, brand: &str, last4: &str| {
        json!({"id": id, "object": "payment_method", "type": "card",
            "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2030}})
    };
    (
        200,
        json!({"object": "list", "data": [card("pm_1", "visa", "4242"), card("pm_2", "mastercard", "4444")]})
            .to_string(),
    )
}

async fn cards_are_saved_listed_and_charged_for_renewals(mut app: TestApp) {
    let (stripe, hits) = crate::http_stub::start(
        vec![
            (200, json!({"id": "cus_1", "object": "customer"}).to_string()),
            (200, json!({"id": "cs_setup_1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_setup_1"}).to_string()),
            (200, json!({"id": "seti_1", "object": "setup_intent", "payment_method": "pm_1"}).to_string()),
            customer(None),
            customer(Some("pm_1")),
            cards(),
            customer(Some("pm_1")),
            cards(),
            customer(Some("pm_1")),
            customer(Some("pm_2")),
            cards(),
            customer(Some("pm_2")),
            cards(),
            customer(Some("pm_2")),
            (200, json!({"id": "pm_1", "object": "payment_method"}).to_string()),
            cards(),
            customer(Some("pm_2")),
            // The first renewal: paid off-session.
            customer(Some("pm_2")),
            (200, json!({"id": "pi_1", "object": "payment_intent", "status": "succeeded", "amount_received": 1900}).to_string()),
            // The second: the card needs the buyer; a checkout link instead.
            customer(Some("pm_2")),
            (402, json!({"error": {"type": "card_error", "code": "authentication_required",
                "message": "This payment requires authentication.",
                "payment_intent": {"id": "pi_2", "object": "payment_intent", "status": "requires_payment_method"}}}).to_string()),
            (200, json!({"id": "cs_renew_1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_renew_1"}).to_string()),
        ],
        (500, json!({"error": {"message": "unexpected"}}).to_string()),
    )
    .await;
    let secret = "whsec_cards";
    app.reconfigure(|c| {
        c.update_section("stripe", |s: &mut commerce::settings::StripeConfig| {
            s.secret_key = "sk_test_cards".into();
            s.webhook_secret = secret.into();
            s.api_base = stripe.clone();
        })
        .expect("stripe settings");
        c.update_section("commerce", |s: &mut commerce::settings::CommerceConfig| {
            // The plan is first bought through the sandbox; renewals go to Stripe.
            s.sandbox = Some(true);
            s.sandbox_settle_secs = 0;
            s.renewal_check_secs = 1;
        })
        .expect("commerce settings");
    })
    .await;
    let owner = app.signup("owner@cards.example").await;
    let org = app.organization(&owner, "Cards").await;
    let hit =
        |n: usize| hits.lock().expect("hits").get(n).cloned().unwrap_or_else(|| panic!("no request {n} to Stripe"));

    // Saving a card: a customer, then a setup session.
    let setup = app
        .post(
            "/api/v1/payments/methods/setup",
            Some(&owner.access),
            json!({"organization_id": org, "success_url": "https://shop.test/card", "cancel_url": "https://shop.test/nocard"}),
        )
        .await
        .expect(200);
    assert_eq!(setup.body["checkout_url"], "https://checkout.stripe.com/c/pay/cs_setup_1");
    assert_eq!(hit(0).target, "/v1/customers");
    assert_eq!(form(&hit(0))["metadata[organization_id]"], org);
    assert_eq!(form(&hit(0))["email"], "owner@cards.example");
    assert_eq!(hit(1).target, "/v1/checkout/sessions");
    let session = form(&hit(1));
    assert_eq!((session["mode"].as_str(), session["customer"].as_str()), ("setup", "cus_1"));
    assert_eq!(session["payment_method_types[0]"], "card");

    // Stripe's webhook: the setup intent's card becomes the default.
    let event = json!({"id": "evt_setup_1", "object": "event", "type": "checkout.session.completed", "data": {"object": {
        "id": "cs_setup_1", "object": "checkout.session", "mode": "setup", "customer": "cus_1", "setup_intent": "seti_1",
        "client_reference_id": org}}})
    .to_string();
    let now = kernel::time::now().unix_timestamp();
    assert_eq!(deliver(&app, Some(&stripe_signature(secret, now, &event)), &event).await.status(), 200);
    app.settled().await;
    assert_eq!(hit(2).target, "/v1/setup_intents/seti_1");
    assert_eq!(hit(4).target, "/v1/customers/cus_1");
    assert_eq!(form(&hit(4))["invoice_settings[default_payment_method]"], "pm_1");

    // Listed, another made the default, one removed.
    let methods = format!("/api/v1/payments/methods?organization_id={org}");
    let listed = app.get(&methods, Some(&owner.access)).await.expect(200).body;
    assert_eq!(
        listed[0],
        json!({"id": "pm_1", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030, "default": true})
    );
    assert_eq!(listed[1]["default"], false);
    assert_eq!(hit(5).target, "/v1/customers/cus_1/payment_methods?type=card&limit=100");
    let changed = app
        .post("/api/v1/payments/methods/pm_2/default", Some(&owner.access), json!({"organization_id": org}))
        .await
        .expect(200)
        .body;
    assert_eq!(changed[1]["default"], true);
    assert_eq!(form(&hit(9))["invoice_settings[default_payment_method]"], "pm_2");
    app.delete(&format!("/api/v1/payments/methods/pm_1?organization_id={org}"), Some(&owner.access)).await.expect(204);
    assert_eq!(hit(14).target, "/v1/payment_methods/pm_1/detach");
    app.delete(&format!("/api/v1/payments/methods/pm_9?organization_id={org}"), Some(&owner.access)).await.expect(404);
    assert!(app.audit_actions().await.contains(&"PAYMENT_METHOD_DEFAULT".to_string()));

    // PRO, bought through the sandbox; its month ends: the default card pays the renewal.
    let pro = app
        .post(
            "/api/v1/billing/subscribe",
            Some(&owner.access),
            json!({"organization_id": org, "plan": "PRO", "period": "month", "provider": "sandbox",
                "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"}),
        )
        .await
        .expect(200);
    let payment = pro.body["payment"]["id"].as_str().expect("payment").to_string();
    assert_eq!(pay(&app, &payment, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    let ended = OffsetDateTime::now_utc().replace_nanosecond(0).expect("whole seconds") - time::Duration::hours(1);
    app.db
        .execute(
            "UPDATE billing_subscriptions SET current_period_end = $2 WHERE organization_id = $1",
            kernel::args![&org, ended],
        )
        .await
        .expect("period ended");
    let me = format!("/api/v1/billing/me?organization_id={org}");
    let renewed = eventually!("the renewal to be paid", {
        app.settled().await;
        let body = app.get(&me, Some(&owner.access)).await.expect(200).body;
        let end = body["current_period_end"].as_str().and_then(|e| OffsetDateTime::parse(e, &Rfc3339).ok());
        (body["status"] == "active" && end.is_some_and(|e| e > ended + time::Duration::days(29))).then_some(body)
    });
    assert_eq!(renewed["plan"]["code"], "PRO");
    let intent = form(&hit(18));
    assert_eq!(hit(18).target, "/v1/payment_intents");
    for (key, value) in [
        ("amount", "1900"),
        ("currency", "eur"),
        ("customer", "cus_1"),
        ("payment_method", "pm_2"),
        ("off_session", "true"),
        ("confirm", "true"),
    ] {
        assert_eq!(intent.get(key).map(String::as_str), Some(value), "{key} in {intent:?}");
    }
    assert!(hit(18).header("idempotency-key").is_some_and(|k| k.starts_with("renewal-")));

    // The next month, the card needs the buyer: a checkout link by email instead.
    let second_end = OffsetDateTime::now_utc() - time::Duration::minutes(5);
    app.db
        .execute(
            "UPDATE billing_subscriptions SET current_period_end = $2 WHERE organization_id = $1",
            kernel::args![&org, second_end],
        )
        .await
        .expect("period ended");
    let email = app.wait_for_email(&owner.email, "Renew your Pro plan").await;
    assert!(email.text.contains("https://checkout.stripe.com/c/pay/cs_renew_1"), "{}", email.text);
    let body: Value = app.get(&me, Some(&owner.access)).await.expect(200).body;
    assert_eq!((body["status"].as_str(), body["plan"]["code"].as_str()), (Some("past_due"), Some("PRO")));

    // Who may see the cards; without Stripe, saved cards are unavailable.
    let member = app.signup("member@cards.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    app.get(&methods, None).await.expect(401);
    app.get(&methods, Some(&member.access)).await.expect(403);
    let stranger = app.signup("stranger@cards.example").await;
    app.get(&methods, Some(&stranger.access)).await.expect(404);
    app.post(
        "/api/v1/payments/methods/setup",
        Some(&owner.access),
        json!({"organization_id": org, "success_url": "nope", "cancel_url": "https://x.test"}),
    )
    .await
    .expect_field_error(422, "success_url");
    app.reconfigure(|c| {
        c.update_section("stripe", |s: &mut commerce::settings::StripeConfig| s.secret_key = String::new())
            .expect("stripe settings")
    })
    .await;
    app.get(&methods, Some(&owner.access)).await.expect(503);
}
