//! Usage and quotas: every app API call, record and stored byte is metered per organization
//! and written to the daily usage table in batches; with `[usage] enforce` on, the plan's
//! limits refuse what would exceed them with a problem naming the limit (402 for a plan's
//! allowance, 429 for the daily calls), in both the platform's and PocketBase's dialects;
//! a paid plan lifts them at once. Off (the default), nothing is refused but all is counted.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::runtime::{blog, create_and_deploy};
use crate::support::{Session, TestApp};

on_both_databases!(
    plan_limits_refuse_what_would_exceed_them,
    usage_is_counted_without_enforcement_by_default,
    usage_endpoints_refuse_bad_callers_and_bad_input,
);

const QUOTA_TYPE: &str = "https://socle.dev/problems/quota-exceeded";

/// Flush metered usage every second (and enforce the plans when asked).
pub(crate) async fn metered(app: &mut TestApp, enforce: bool) {
    app.reconfigure(|c| {
        c.update_section("usage", |u: &mut kernel::usage::UsageConfig| u.enforce = enforce).expect("usage settings");
        c.update_section("commerce", |s: &mut commerce::settings::CommerceConfig| {
            s.usage_flush_secs = 1;
            s.sandbox_settle_secs = 0;
        })
        .expect("commerce settings");
    })
    .await;
}

pub(crate) async fn set_free_limits(app: &TestApp, limits: Value) {
    let admin = app.admin("root@quotas.example").await;
    app.put("/api/v1/admin/billing/plans/FREE", Some(&admin.access), json!({"limits": limits})).await.expect(200);
}

fn usage_of<'a>(me: &'a Value, metric: &str) -> &'a Value {
    me["usage"].as_array().and_then(|u| u.iter().find(|m| m["metric"] == metric)).unwrap_or(&Value::Null)
}

/// Wait until the daily usage table shows `calls` API calls today (flushes are periodic).
async fn wait_for_stored_calls(app: &TestApp, who: &Session, org: &str, calls: i64) -> Value {
    let path = format!("/api/v1/billing/usage?organization_id={org}&days=3");
    for _ in 0..200 {
        let days = app.get(&path, Some(&who.access)).await.expect(200).body;
        if days[2]["api_calls"] == calls {
            return days;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the usage table never showed {calls} calls today");
}

fn post_record(app: &TestApp, who: &Session, slug: &str, title: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/apps/{slug}/api/collections/posts/records")))
        .bearer_auth(&who.access)
        .json(&json!({"title": title}))
}

async fn plan_limits_refuse_what_would_exceed_them(mut app: TestApp) {
    metered(&mut app, true).await;
    let (owner, project, _) = blog(&app, "owner@quotas.example", "quota-blog").await;
    let org = app.get(&format!("/api/v1/studio/projects/{project}"), Some(&owner.access)).await.expect(200).body
        ["organization_id"]
        .as_str()
        .expect("org")
        .to_string();
    set_free_limits(
        &app,
        json!({"projects": 1, "apps": 1, "records": 2, "storage_bytes": 100, "api_calls_per_day": 6, "members": 2}),
    )
    .await;

    // Counts their owners take: projects, apps, members (pending invitations hold a seat).
    let second = app
        .post("/api/v1/studio/projects", Some(&owner.access), json!({"organization_id": org, "name": "Two"}))
        .await
        .expect(402);
    assert_eq!(second.body["type"], QUOTA_TYPE);
    assert_eq!(
        (second.body["limit"].as_str(), second.body["used"].as_i64(), second.body["max"].as_i64()),
        (Some("projects"), Some(1), Some(1))
    );
    let app2 = app
        .post(
            "/api/v1/runtime/apps",
            Some(&owner.access),
            json!({"project_id": project, "slug": "again", "name": "Again"}),
        )
        .await
        .expect(402);
    assert_eq!(app2.body["limit"], "apps");
    let invite = |email: &str| json!({"email": email, "role": "MEMBER"});
    app.post(
        &format!("/api/v1/foundation/organizations/{org}/invitations"),
        Some(&owner.access),
        invite("a@quotas.example"),
    )
    .await
    .expect(201);
    let seat = app
        .post(
            &format!("/api/v1/foundation/organizations/{org}/invitations"),
            Some(&owner.access),
            invite("b@quotas.example"),
        )
        .await
        .expect(402);
    assert_eq!((seat.body["limit"].as_str(), seat.body["used"].as_i64()), (Some("members"), Some(2)));

    // The app's own API, in PocketBase's dialect: records, stored bytes, calls per day.
    TestApp::read(post_record(&app, &owner, "quota-blog", "one").send().await.expect("send")).await.expect(200);
    let png = [&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..], &[0u8; 200][..]].concat();
    let form = reqwest::multipart::Form::new()
        .text("title", "with a cover")
        .part("cover", reqwest::multipart::Part::bytes(png).file_name("cover.png"));
    let too_big = TestApp::read(
        app.client
            .post(app.url("/apps/quota-blog/api/collections/posts/records"))
            .bearer_auth(&owner.access)
            .multipart(form)
            .send()
            .await
            .expect("send"),
    )
    .await
    .expect(402);
    assert_eq!((too_big.body["status"].as_i64(), too_big.body["limit"].as_str()), (Some(402), Some("storage_bytes")));
    TestApp::read(post_record(&app, &owner, "quota-blog", "two").send().await.expect("send")).await.expect(200);
    let third = TestApp::read(post_record(&app, &owner, "quota-blog", "three").send().await.expect("send")).await;
    let third = third.expect(402);
    assert_eq!(
        (third.body["limit"].as_str(), third.body["used"].as_i64(), third.body["max"].as_i64()),
        (Some("records"), Some(2), Some(2))
    );
    assert!(third.body["message"].as_str().is_some_and(|m| m.contains("records")), "{}", third.body);
    let list = "/apps/quota-blog/api/collections/posts/records";
    app.get(list, Some(&owner.access)).await.expect(200);
    app.get(list, Some(&owner.access)).await.expect(200);
    // Six calls today: the seventh is refused until midnight UTC.
    let limited = app.get(list, Some(&owner.access)).await.expect(429);
    assert_eq!((limited.body["limit"].as_str(), limited.body["max"].as_i64()), (Some("api_calls_per_day"), Some(6)));
    let retry: u64 = limited.headers["retry-after"].to_str().ok().and_then(|s| s.parse().ok()).expect("Retry-After");
    assert!((1..=86_400).contains(&retry), "until midnight UTC: {retry}");

    let me = app.get(&format!("/api/v1/billing/me?organization_id={org}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!(
        (usage_of(&me, "records")["used"].as_i64(), usage_of(&me, "records")["limit"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(usage_of(&me, "api_calls_per_day")["used"], 6);
    assert_eq!(usage_of(&me, "api_calls_per_day")["window"], "day");
    assert_eq!(
        (usage_of(&me, "projects")["used"].as_i64(), usage_of(&me, "apps")["used"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(usage_of(&me, "storage_bytes")["used"], 0, "the refused file was not kept");
    assert_eq!(me["next_invoice"], Value::Null, "nothing to renew on FREE");
    // Refused calls are not counted; the daily table receives the six.
    let days = wait_for_stored_calls(&app, &owner, &org, 6).await;
    assert_eq!(days.as_array().map(Vec::len), Some(3));

    // PRO lifts the limits as soon as it is paid, and shows its renewal.
    crate::payments::buy_plan(&app, &owner, &org, "PRO").await;
    TestApp::read(post_record(&app, &owner, "quota-blog", "three").send().await.expect("send")).await.expect(200);
    let me = app.get(&format!("/api/v1/billing/me?organization_id={org}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!((me["next_invoice"]["amount"].as_i64(), me["next_invoice"]["plan"].as_str()), (Some(1900), Some("PRO")));
    assert_eq!(usage_of(&me, "records")["limit"], 100_000);
    let project2 = app
        .post("/api/v1/studio/projects", Some(&owner.access), json!({"organization_id": org, "name": "Two"}))
        .await
        .expect(201);
    create_and_deploy(&app, &owner, project2.body["id"].as_str().expect("id"), "second-app").await;
}

async fn usage_is_counted_without_enforcement_by_default(mut app: TestApp) {
    metered(&mut app, false).await;
    let (owner, project, _) = blog(&app, "free@quotas.example", "free-blog").await;
    let org = app.get(&format!("/api/v1/studio/projects/{project}"), Some(&owner.access)).await.expect(200).body
        ["organization_id"]
        .as_str()
        .expect("org")
        .to_string();
    set_free_limits(&app, json!({"records": 1, "api_calls_per_day": 2})).await;
    for title in ["a", "b", "c"] {
        TestApp::read(post_record(&app, &owner, "free-blog", title).send().await.expect("send")).await.expect(200);
    }
    let me = app.get(&format!("/api/v1/billing/me?organization_id={org}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!(
        (usage_of(&me, "records")["used"].as_i64(), usage_of(&me, "records")["limit"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(usage_of(&me, "api_calls_per_day")["used"], 3);
    wait_for_stored_calls(&app, &owner, &org, 3).await;
}

async fn usage_endpoints_refuse_bad_callers_and_bad_input(app: TestApp) {
    let owner = app.signup("owner@usage.example").await;
    let org = app.organization(&owner, "Usage").await;
    let member = app.signup("member@usage.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let stranger = app.signup("stranger@usage.example").await;
    let path = format!("/api/v1/billing/usage?organization_id={org}");
    let days = app.get(&path, Some(&owner.access)).await.expect(200).body;
    assert_eq!(days.as_array().map(Vec::len), Some(30));
    assert_eq!(days[29]["api_calls"], 0);
    app.get(&path, None).await.expect(401);
    app.get(&path, Some(&member.access)).await.expect(403);
    app.get(&path, Some(&stranger.access)).await.expect(404);
    app.get(&format!("{path}&days=0"), Some(&owner.access)).await.expect_field_error(422, "days");
    app.get(&format!("{path}&days=400"), Some(&owner.access)).await.expect_field_error(422, "days");
    let malformed = app.get(&format!("{path}&days=many"), Some(&owner.access)).await;
    assert!(matches!(malformed.status, 400 | 422), "{}", malformed.status);
    app.get("/api/v1/billing/usage", Some(&owner.access)).await.expect(422);
}
