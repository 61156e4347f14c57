//! Renewals and dunning: when a paid plan's period ends the scheduler opens a renewal
//! checkout and emails its link; the plan keeps its limits through the grace period, and
//! paying continues it from where the last period ended; unpaid past the grace period, or
//! cancelled, the organization falls back to FREE with an email and an audit entry.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::on_both_databases;
use crate::payments::{buy_plan, pay};
use crate::support::{Session, TestApp};

on_both_databases!(paid_plans_renew_and_lapse_to_free);

/// Pretend the current period ended at `end`.
async fn end_period_at(app: &TestApp, org: &str, end: OffsetDateTime) {
    app.db
        .execute(
            "UPDATE billing_subscriptions SET current_period_end = $2 WHERE organization_id = $1",
            kernel::args![org, end],
        )
        .await
        .expect("period moved");
}

async fn overview(app: &TestApp, owner: &Session, org: &str) -> Value {
    app.get(&format!("/api/v1/billing/me?organization_id={org}"), Some(&owner.access)).await.expect(200).body
}

/// Wait until the scheduler's pass puts the organization in `status` on `plan`.
async fn wait_for(app: &TestApp, owner: &Session, org: &str, plan: &str, status: &str) -> Value {
    for _ in 0..200 {
        let me = overview(app, owner, org).await;
        if me["plan"]["code"] == plan && me["status"] == status {
            return me;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the organization never reached {plan} {status}");
}

async fn paid_plans_renew_and_lapse_to_free(mut app: TestApp) {
    app.reconfigure(|c| {
        c.update_section("commerce", |s: &mut commerce::settings::CommerceConfig| {
            s.sandbox_settle_secs = 0;
            s.renewal_check_secs = 1;
            s.grace_days = 7;
        })
        .expect("commerce settings")
    })
    .await;
    let owner = app.signup("owner@renewals.example").await;
    let org = app.organization(&owner, "Renewals").await;
    buy_plan(&app, &owner, &org, "PRO").await;

    // The month is over: a renewal is billed, and PRO holds during the grace period.
    let ended = OffsetDateTime::now_utc().replace_nanosecond(0).expect("whole seconds") - time::Duration::hours(1);
    end_period_at(&app, &org, ended).await;
    let email = app.wait_for_email(&owner.email, "Renew your Pro plan").await;
    let url = email.text.lines().find(|l| l.contains("/sandbox/checkout/")).expect("the checkout link").trim();
    let renewal = url.rsplit('/').next().expect("payment id").to_string();
    let me = wait_for(&app, &owner, &org, "PRO", "past_due").await;
    assert_eq!(me["plan"]["limits"]["projects"], 20, "PRO's limits during the grace period");
    let payment = app.get(&format!("/api/v1/payments/{renewal}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!((payment["amount"].as_i64(), payment["purpose_id"].as_str()), (Some(1900), Some("PRO:month")));

    // Paid: the next month starts where the last one ended.
    assert_eq!(pay(&app, &renewal, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    let me = wait_for(&app, &owner, &org, "PRO", "active").await;
    let next_end = OffsetDateTime::parse(me["current_period_end"].as_str().expect("end"), &Rfc3339).expect("rfc3339");
    assert_eq!(next_end - ended, time::Duration::days(30));
    assert_eq!(me["next_invoice"]["amount"], 1900);

    // Unpaid past the grace period: back to FREE, told by email, audited.
    end_period_at(&app, &org, OffsetDateTime::now_utc() - time::Duration::days(8)).await;
    app.wait_for_email(&owner.email, "Your Pro plan has ended").await;
    let me = wait_for(&app, &owner, &org, "FREE", "active").await;
    assert_eq!(me["plan"]["limits"]["projects"], 3);
    assert!(app.audit_actions().await.contains(&"PLAN_ENDED".to_string()));

    // Cancelled: it ends with its period.
    buy_plan(&app, &owner, &org, "PRO").await;
    assert_eq!(overview(&app, &owner, &org).await["plan"]["code"], "PRO");
    app.post("/api/v1/billing/cancel", Some(&owner.access), json!({"organization_id": org})).await.expect(200);
    end_period_at(&app, &org, OffsetDateTime::now_utc() - time::Duration::minutes(1)).await;
    app.wait_for_nth_email(&owner.email, "Your Pro plan has ended", 2).await;
    let me = wait_for(&app, &owner, &org, "FREE", "active").await;
    assert_eq!(me["next_invoice"], Value::Null);
}
