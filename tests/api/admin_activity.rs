//! The admin dashboard's figures over time (`/api/v1/admin/activity`: requests, errors, job
//! attempts) and the list of every app (`/api/v1/admin/apps`).

use kernel::jobs::{FnHandler, Job, JobError, NewJob, Registry, Worker, WorkerOptions};
use kernel::{Db, args};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp};
use crate::{on_both_backends, on_both_databases};

const ACTIVITY: &str = "/api/v1/admin/activity";

on_both_databases!(admins_list_every_app);

/// The back-office lists every app of every organization, with its deployments, searchable
/// by name or slug, by organization and by project; nobody else sees the list.
async fn admins_list_every_app(app: TestApp) {
    let admin = app.admin("root@apps-admin.example").await;
    let (ada, blog_project, blog_app) = crate::runtime::blog(&app, "ada@apps-admin.example", "ada-blog").await;
    app.post(&format!("/api/v1/runtime/apps/{blog_app}/deploy"), Some(&ada.access), json!({})).await.expect(201);
    let bob = app.signup("bob@apps-admin.example").await;
    let zeta = app.organization(&bob, "Zeta").await;
    let reel = crate::studio_projects::project(&app, &bob, &zeta, "Reel").await;
    app.post(
        "/api/v1/runtime/apps",
        Some(&bob.access),
        json!({"project_id": reel, "slug": "reel-site", "name": "Reel"}),
    )
    .await
    .expect(201);

    let all = app.get("/api/v1/admin/apps", Some(&admin.access)).await.expect(200).body;
    assert_eq!(all["total_items"], 2);
    let row = |page: &Value, slug: &str| {
        page["items"].as_array().and_then(|items| items.iter().find(|a| a["slug"] == slug).cloned())
    };
    let blog = row(&all, "ada-blog").expect("Ada's app is listed");
    assert_eq!(
        (&blog["project_id"], &blog["current_deployment"], &blog["deployments"]),
        (&json!(blog_project), &json!(2), &json!(2))
    );
    assert!(blog["last_deployed_at"].is_string(), "{blog}");
    let fresh = row(&all, "reel-site").expect("Bob's app is listed");
    assert_eq!((&fresh["deployments"], &fresh["last_deployed_at"]), (&json!(0), &Value::Null));
    assert_eq!((&fresh["organization_name"], &fresh["project_name"]), (&json!("Zeta"), &json!("Reel")));

    let by_slug = app.get("/api/v1/admin/apps?search=REEL-s", Some(&admin.access)).await.expect(200).body;
    assert_eq!((&by_slug["total_items"], &by_slug["items"][0]["slug"]), (&json!(1), &json!("reel-site")));
    let by_org = app.get(&format!("/api/v1/admin/apps?organization_id={zeta}"), Some(&admin.access)).await;
    assert_eq!(by_org.expect(200).body["items"][0]["organization_id"], zeta.as_str());
    let by_project = app.get(&format!("/api/v1/admin/apps?project_id={blog_project}"), Some(&admin.access)).await;
    let by_project = by_project.expect(200).body;
    assert_eq!((&by_project["total_items"], &by_project["items"][0]["id"]), (&json!(1), &json!(blog_app)));
    let paged = app.get("/api/v1/admin/apps?per_page=1&page=2", Some(&admin.access)).await.expect(200).body;
    assert_eq!((paged["items"].as_array().map(Vec::len), &paged["total_pages"]), (Some(1), &json!(2)));

    app.get("/api/v1/admin/apps", None).await.expect(401);
    app.get("/api/v1/admin/apps", Some(&ada.access)).await.expect(403);
    app.get("/api/v1/admin/apps?per_page=0", Some(&admin.access)).await.expect_field_error(422, "per_page");
    app.get(&format!("/api/v1/admin/apps?search={}", "x".repeat(101)), Some(&admin.access))
        .await
        .expect_field_error(422, "search");
    app.stop().await;
}

on_both_backends!(the_dashboard_counts_requests_errors_and_job_attempts);

fn last_bucket(activity: &Value) -> Value {
    activity["buckets"].as_array().and_then(|b| b.last().cloned()).unwrap_or(Value::Null)
}

fn count(bucket: &Value, field: &str) -> i64 {
    bucket[field].as_i64().unwrap_or_else(|| panic!("{field} in {bucket}"))
}

/// The request counters are per process, and nextest runs each test in a process of its own
/// (the README's test command): only this test's server counts into them here.
///
/// Requests are counted by status class in the current hour, survive the minute's write to
/// the database without being counted twice, and job attempts appear by outcome; the
/// ranges have their buckets; only administrators see any of it.
async fn the_dashboard_counts_requests_errors_and_job_attempts(backend: Backend) {
    // This app's own worker leaves the `test` queue to the worker below.
    let app = TestApp::spawn_with(backend, |c| {
        c.jobs.queues = ["default", "email", "webhooks", "notifications", "maintenance"].map(String::from).to_vec();
    })
    .await;
    let admin = app.admin("root@activity.example").await;
    let user = app.signup("someone@activity.example").await;

    let before = last_bucket(&app.get(ACTIVITY, Some(&admin.access)).await.expect(200).body);
    for _ in 0..3 {
        app.get("/api/v1/no-such-thing", None).await.expect(404);
    }
    app.get(&format!("{ACTIVITY}?range=1y"), Some(&admin.access)).await.expect_field_error(422, "range");
    let after = app.get(ACTIVITY, Some(&admin.access)).await.expect(200).body;
    assert_eq!(
        (&after["range"], &after["bucket"], after["buckets"].as_array().map(Vec::len)),
        (&json!("24h"), &json!("hour"), Some(24))
    );
    let now = last_bucket(&after);
    // The first call, three 404s and a 422 were answered in between (other tests of this
    // process may add theirs).
    assert!(count(&now, "requests") >= count(&before, "requests") + 5, "{before} -> {now}");
    assert!(count(&now, "client_errors") >= count(&before, "client_errors") + 4, "{before} -> {now}");

    // The minute's write moves the counts to the table: the answer neither loses nor
    // doubles them.
    insights::activity::flush(&app.db).await.expect("flush");
    let stored: i64 = app
        .db
        .scalar("SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM insights_request_hours", args![])
        .await
        .expect("sum");
    assert!(stored >= count(&now, "requests"), "{stored} stored, {now} answered");
    let flushed = last_bucket(&app.get(ACTIVITY, Some(&admin.access)).await.expect(200).body);
    assert!(count(&flushed, "requests") > count(&now, "requests"), "{now} -> {flushed}");
    assert!(count(&flushed, "requests") <= count(&now, "requests") + 20, "counted twice? {now} -> {flushed}");

    // A job that succeeds and one that fails for good.
    let mut registry = Registry::new();
    registry.register("test.ok", FnHandler(|_job: Job, _db: Db| async { Ok::<Option<Value>, JobError>(None) }));
    registry.register(
        "test.broken",
        FnHandler(|_job: Job, _db: Db| async { Err::<Option<Value>, _>(JobError::Permanent("broken".into())) }),
    );
    for kind in ["test.ok", "test.broken"] {
        kernel::jobs::enqueue_now(&app.db, NewJob::new(kind, json!({})).queue("test")).await.expect("enqueue");
    }
    let options =
        WorkerOptions { concurrency: 2, queues: vec!["test".into()], name: "activity".into(), ..Default::default() };
    Worker::new(app.db.clone(), registry, options).drain().await.expect("drain");
    let jobs = last_bucket(&app.get(ACTIVITY, Some(&admin.access)).await.expect(200).body);
    // The app's own worker may have run jobs of its queues in between.
    for field in ["jobs_succeeded", "jobs_dead"] {
        assert!(count(&jobs, field) > count(&flushed, field), "{field}: {flushed} -> {jobs}");
    }

    for (range, buckets) in [("7d", 7), ("30d", 30)] {
        let body = app.get(&format!("{ACTIVITY}?range={range}"), Some(&admin.access)).await.expect(200).body;
        assert_eq!((&body["bucket"], body["buckets"].as_array().map(Vec::len)), (&json!("day"), Some(buckets)));
        let today = last_bucket(&body);
        assert!(count(&today, "requests") >= count(&flushed, "requests"), "today {today}, this hour {flushed}");
        assert!(count(&today, "jobs_succeeded") >= count(&jobs, "jobs_succeeded"), "today {today}, this hour {jobs}");
        assert!(today["start"].as_str().is_some_and(|s| s.ends_with("T00:00:00Z")), "{today}");
    }
    app.get(ACTIVITY, None).await.expect(401);
    app.get(ACTIVITY, Some(&user.access)).await.expect(403);
    app.stop().await;
}
