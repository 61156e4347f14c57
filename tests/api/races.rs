//! Concurrent requests that race for one thing: a name, an app's deployment, a plan's last
//! seat, an organization's last OWNER. Each answers as it would alone (one creation, the others a clear refusal), never a
//! 500, and a plan's limit holds however many arrive at once. Both databases.

use std::future::Future;

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::{PASSWORD, TestApp};

on_both_databases!(
    requests_racing_for_one_name_create_it_once,
    racing_deployments_each_apply_once,
    racing_creations_stay_within_the_plan,
    the_last_two_owners_cannot_both_go_at_once,
    an_owner_demoted_meanwhile_acts_with_the_role_they_have_now,
    an_invitation_accepted_in_several_tabs_joins_once,
    two_owners_erasing_their_accounts_at_once_leave_one,
    two_administrators_cannot_remove_each_other_at_once,
    a_project_deleted_or_restored_twice_at_once_changes_once,
    an_account_erased_by_its_owner_and_an_administrator_at_once_is_erased_once,
    nothing_is_added_to_an_organization_or_project_once_deleted,
    racing_updates_and_deletes_of_records_all_answer,
    racing_batches_all_answer,
    racing_page_saves_keep_the_order_and_all_land,
    a_plan_paid_twice_buys_two_periods,
    a_unique_value_taken_meanwhile_names_its_field,
    an_app_code_spent_meanwhile_is_invalid_not_rate_limited
);

/// Start `n` requests at once; their statuses, in order.
async fn at_once<F, Fut>(n: usize, request: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = u16>,
{
    futures_util::future::join_all((0..n).map(request)).await
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// A `SELECT COUNT(*)` with one parameter, read straight from storage.
async fn rows(app: &TestApp, count_sql: &'static str, param: &str) -> i64 {
    app.db.scalar(count_sql, kernel::args![param.to_string()]).await.expect("count")
}

async fn requests_racing_for_one_name_create_it_once(app: TestApp) {
    let owner = app.signup("owner@races.example").await;
    let org = app.organization(&owner, "Races").await;
    let project_id = project(&app, &owner, &org, "Races").await;
    let studio = format!("/api/v1/studio/projects/{project_id}/collections");

    let collections = at_once(6, |_| async {
        app.post(&studio, Some(&owner.access), json!({"name": "notes", "fields": []})).await.status
    })
    .await;
    assert_eq!((count(&collections, 201), count(&collections, 422)), (1, 5), "{collections:?}");

    let apps = at_once(6, |_| async {
        let body = json!({"project_id": project_id, "slug": "raced", "name": "Raced"});
        app.post("/api/v1/runtime/apps", Some(&owner.access), body).await.status
    })
    .await;
    assert_eq!((count(&apps, 201), count(&apps, 422)), (1, 5), "{apps:?}");

    // A registration of a taken address is answered as any other (202), racing or not.
    let registrations = at_once(6, |_| async {
        let body = json!({"email": "twice@races.example", "password": PASSWORD, "first_name": "T", "last_name": "W"});
        app.post("/api/v1/foundation/auth/register", None, body).await.status
    })
    .await;
    assert_eq!(count(&registrations, 202), 6, "{registrations:?}");
    app.wait_for_email("twice@races.example", "Activate").await;
    assert_eq!(rows(&app, "SELECT COUNT(*) FROM users WHERE email = $1", "twice@races.example").await, 1);
}

async fn racing_deployments_each_apply_once(app: TestApp) {
    let owner = app.signup("deploys@races.example").await;
    let org = app.organization(&owner, "Deploys").await;
    let project_id = project(&app, &owner, &org, "Deploys").await;
    let studio = format!("/api/v1/studio/projects/{project_id}/collections");
    let app_id = crate::runtime::create_and_deploy(&app, &owner, &project_id, "raced-deploys").await;
    app.post(&studio, Some(&owner.access), json!({"name": "notes", "fields": [{"name": "title", "type": "text"}]}))
        .await
        .expect(201);
    let path = format!("/api/v1/runtime/apps/{app_id}/deploy");
    let deployed = at_once(6, |_| async { app.post(&path, Some(&owner.access), json!({})).await.status }).await;
    assert_eq!(count(&deployed, 201), 6, "{deployed:?}");
    // The first to commit created the table; the others found it there.
    let list = app.get(&format!("/api/v1/runtime/apps/{app_id}/deployments"), Some(&owner.access)).await.expect(200);
    let deployments = list.body.as_array().expect("deployments").clone();
    let numbers: Vec<i64> = deployments.iter().filter_map(|d| d["number"].as_i64()).collect();
    assert_eq!(numbers, (1..=7).rev().collect::<Vec<_>>());
    let creating: Vec<&Value> =
        deployments.iter().filter(|d| d["operations"].as_array().is_some_and(|ops| !ops.is_empty())).collect();
    assert_eq!(creating.len(), 2, "the first deployment and one of the racing ones change the schema");
    let records = "/apps/raced-deploys/api/collections/notes/records";
    app.post(records, Some(&owner.access), json!({"title": "after"})).await.expect(200);
}

async fn racing_creations_stay_within_the_plan(mut app: TestApp) {
    crate::quotas::metered(&mut app, true).await;
    let owner = app.signup("plan@races.example").await;
    let org = app.organization(&owner, "Plan").await;
    let project_id = project(&app, &owner, &org, "First").await;
    crate::quotas::set_free_limits(&app, json!({"projects": 3, "apps": 2, "members": 4})).await;
    let (app, owner, org, project_id) = (&app, &owner, org.as_str(), project_id.as_str());

    let projects = at_once(6, |i| async move {
        let body = json!({"organization_id": org, "name": format!("Raced {i}")});
        app.post("/api/v1/studio/projects", Some(&owner.access), body).await.status
    })
    .await;
    assert_eq!((count(&projects, 201), count(&projects, 402)), (2, 4), "{projects:?}");

    let apps = at_once(6, |i| async move {
        let body = json!({"project_id": project_id, "slug": format!("plan-{i}"), "name": "Plan"});
        app.post("/api/v1/runtime/apps", Some(&owner.access), body).await.status
    })
    .await;
    assert_eq!((count(&apps, 201), count(&apps, 402)), (2, 4), "{apps:?}");

    // The owner and three pending invitations fill the four seats.
    let invitations = at_once(6, |i| async move {
        let body = json!({"email": format!("guest{i}@races.example"), "role": "MEMBER"});
        app.post(&format!("/api/v1/foundation/organizations/{org}/invitations"), Some(&owner.access), body).await.status
    })
    .await;
    assert_eq!((count(&invitations, 201), count(&invitations, 402)), (3, 3), "{invitations:?}");
}

/// Two OWNERs demoting each other, leaving, or removing each other at the same moment: one
/// of them goes, the other is refused as the last OWNER, and the organization keeps one.
async fn the_last_two_owners_cannot_both_go_at_once(app: TestApp) {
    const ORGS: &str = "/api/v1/foundation/organizations";
    let a = app.signup("a@owners.example").await;
    let b = app.signup("b@owners.example").await;
    for (round, how) in ["demote", "leave", "remove"].into_iter().enumerate() {
        let org = app.organization(&a, &format!("Owners {round}")).await;
        app.add_member(&org, &a, &b, "OWNER").await;
        let request = |by: &crate::support::Session, other: &crate::support::Session| {
            let member = format!("{ORGS}/{org}/members/{}", other.user_id);
            let (app, access) = (&app, by.access.clone());
            let org = org.clone();
            async move {
                let token = Some(access.as_str());
                match how {
                    "demote" => app.patch(&member, token, json!({"role": "MEMBER"})).await.status,
                    "leave" => {
                        app.request(reqwest::Method::POST, &format!("{ORGS}/{org}/leave"), token, None).await.status
                    }
                    _ => app.delete(&member, token).await.status,
                }
            }
        };
        let (by_a, by_b) = tokio::join!(request(&a, &b), request(&b, &a));
        let mut statuses = [by_a, by_b];
        statuses.sort_unstable();
        // The refused one is told it would remove the last OWNER (409), or, when the other
        // went first, that it is no longer an OWNER (403) or a member (404).
        assert!(matches!(statuses, [204, 403 | 404 | 409]), "{how}: {statuses:?}");
        let owners =
            rows(&app, "SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'OWNER'", &org).await;
        assert_eq!(owners, 1, "{how}");
    }
}

/// An OWNER demotes another while that one demotes a third, at once: the second change runs
/// only if its author is still an OWNER when it runs (a role checked before waiting for the
/// organization was taken for granted, and a demoted OWNER could still demote others).
async fn an_owner_demoted_meanwhile_acts_with_the_role_they_have_now(app: TestApp) {
    const ORGS: &str = "/api/v1/foundation/organizations";
    let a = app.signup("a@demoted.example").await;
    let b = app.signup("b@demoted.example").await;
    let c = app.signup("c@demoted.example").await;
    for round in 0..4 {
        let org = app.organization(&a, &format!("Demoted {round}")).await;
        app.add_member(&org, &a, &b, "OWNER").await;
        app.add_member(&org, &a, &c, "OWNER").await;
        let (to_b, to_c) =
            (format!("{ORGS}/{org}/members/{}", b.user_id), format!("{ORGS}/{org}/members/{}", c.user_id));
        let (by_a, by_b) = tokio::join!(
            app.patch(&to_b, Some(&a.access), json!({"role": "MEMBER"})),
            app.patch(&to_c, Some(&b.access), json!({"role": "MEMBER"}))
        );
        assert_eq!(by_a.status, 204, "{}", by_a.body);
        let changed: Vec<(String,)> = app
            .db
            .fetch_all(
                "SELECT target_id FROM audit_log WHERE organization_id = $1 AND action = 'ORG_MEMBER_ROLE_CHANGED'
                 ORDER BY created_at, id",
                kernel::args![org.clone()],
            )
            .await
            .expect("audit");
        let order: Vec<&str> = changed.iter().map(|(t,)| t.as_str()).collect();
        match by_b.status {
            // B went first, as an OWNER.
            204 => assert_eq!(order, [c.user_id.as_str(), b.user_id.as_str()], "round {round}"),
            // B was a MEMBER by the time its change ran.
            403 => assert_eq!(order, [b.user_id.as_str()], "round {round}"),
            other => panic!("round {round}: {other} {}", by_b.body),
        }
    }
}

/// One invitation accepted six times at once (tabs, a double click): one joins, the others
/// are told the invitation was used (422 on `token`), not a generic conflict.
async fn an_invitation_accepted_in_several_tabs_joins_once(app: TestApp) {
    let owner = app.signup("owner@tabs.example").await;
    let org = app.organization(&owner, "Tabs").await;
    let member = app.signup("member@tabs.example").await;
    app.post(
        &format!("/api/v1/foundation/organizations/{org}/invitations"),
        Some(&owner.access),
        json!({"email": member.email, "role": "MEMBER"}),
    )
    .await
    .expect(201);
    let token = app.wait_for_nth_email(&member.email, "invited", 1).await.token();
    let accepts = at_once(6, |_| async {
        let body = json!({"token": token});
        app.post("/api/v1/foundation/organizations/invitations/accept", Some(&member.access), body).await.status
    })
    .await;
    assert_eq!((count(&accepts, 200), count(&accepts, 422)), (1, 5), "{accepts:?}");
    assert_eq!(rows(&app, "SELECT COUNT(*) FROM memberships WHERE organization_id = $1", &org).await, 2);
}

/// Projects created while their organization is deleted, pages and collections while their
/// project is: each is created before the deletion or refused (404) after it; none lands in
/// what was deleted (projects did, every one, when the access check before the transaction
/// had passed).
async fn nothing_is_added_to_an_organization_or_project_once_deleted(app: TestApp) {
    let owner = app.signup("owner@doomed.example").await;
    let org = app.organization(&owner, "Doomed").await;
    let path = format!("/api/v1/foundation/organizations/{org}");
    let creates = at_once(8, |i| {
        let body = json!({"organization_id": org, "name": format!("Project {i}")});
        let (app, access) = (&app, owner.access.clone());
        async move { app.post("/api/v1/studio/projects", Some(&access), body).await.status }
    });
    let (creates, deleted) = tokio::join!(creates, app.delete(&path, Some(&owner.access)));
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(count(&creates, 201) + count(&creates, 404), 8, "{creates:?}");
    let after = audited_after(&app, &org, "ORG_DELETED").await;
    assert_eq!(after, [] as [&str; 0], "created after the deletion: {creates:?}");

    let org = app.organization(&owner, "Kept").await;
    let project_id = project(&app, &owner, &org, "Doomed project").await;
    let studio = format!("/api/v1/studio/projects/{project_id}");
    let creates = at_once(8, |i| {
        let (app, access) = (&app, owner.access.clone());
        let (pages, collections) = (format!("{studio}/pages"), format!("{studio}/collections"));
        async move {
            if i % 2 == 0 {
                app.post(&pages, Some(&access), json!({"name": format!("Page {i}")})).await.status
            } else {
                app.post(&collections, Some(&access), json!({"name": format!("notes_{i}"), "fields": []})).await.status
            }
        }
    });
    let (creates, deleted) = tokio::join!(creates, app.delete(&studio, Some(&owner.access)));
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(count(&creates, 201) + count(&creates, 404), 8, "{creates:?}");
    let after = audited_after(&app, &org, "PROJECT_DELETED").await;
    assert_eq!(after, [] as [&str; 0], "created after the deletion: {creates:?}");
}

/// The two OWNERs of an organization with another member erase their accounts at once: one
/// goes, the other is told to transfer ownership first (409), and the organization keeps an
/// OWNER (both went, every time, on PostgreSQL).
async fn two_owners_erasing_their_accounts_at_once_leave_one(app: TestApp) {
    let member = app.signup("member@erasing.example").await;
    for round in 0..3 {
        let a = app.signup(&format!("a{round}@erasing.example")).await;
        let b = app.signup(&format!("b{round}@erasing.example")).await;
        let org = app.organization(&a, &format!("Erasing {round}")).await;
        app.add_member(&org, &a, &b, "OWNER").await;
        app.add_member(&org, &a, &member, "MEMBER").await;
        let body = || Some(json!({"password": PASSWORD}));
        let (by_a, by_b) = tokio::join!(
            app.request(reqwest::Method::DELETE, "/api/v1/foundation/users/me", Some(&a.access), body()),
            app.request(reqwest::Method::DELETE, "/api/v1/foundation/users/me", Some(&b.access), body())
        );
        let mut statuses = [by_a.status, by_b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [204, 409], "round {round}: {} {}", by_a.body, by_b.body);
        let owners =
            rows(&app, "SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'OWNER'", &org).await;
        assert_eq!(owners, 1, "round {round}");
    }
}

/// Two administrators demote, deactivate or delete each other at once: one succeeds, the
/// other is no longer an administrator when its request runs (403), and the platform keeps
/// an administrator (both succeeded before, on PostgreSQL).
async fn two_administrators_cannot_remove_each_other_at_once(app: TestApp) {
    for (round, how) in ["demote", "deactivate", "delete"].into_iter().enumerate() {
        let a = app.admin(&format!("a{round}@admins.example")).await;
        let b = app.admin(&format!("b{round}@admins.example")).await;
        let act = |by: &crate::support::Session, on: &crate::support::Session| {
            let user = format!("/api/v1/admin/users/{}", on.user_id);
            let (app, token) = (&app, by.access.clone());
            async move {
                let token = Some(token.as_str());
                match how {
                    "demote" => app.put(&format!("{user}/role"), token, json!({"role": "user"})).await.status,
                    "deactivate" => {
                        app.put(&format!("{user}/status"), token, json!({"status": "deactivated"})).await.status
                    }
                    _ => app.delete(&user, token).await.status,
                }
            }
        };
        let (by_a, by_b) = tokio::join!(act(&a, &b), act(&b, &a));
        let mut statuses = [by_a, by_b];
        statuses.sort_unstable();
        // The loser's own session may be gone by the time it is checked (deactivated or
        // deleted: 401), or its role checked first under the hold (403).
        assert!(matches!(statuses, [200 | 204, 401 | 403]), "{how}: {statuses:?}");
        let active_admin = "SELECT COUNT(*) FROM users WHERE id = $1 AND role = 'admin' AND status = 'active'";
        let left = rows(&app, active_admin, &a.user_id).await + rows(&app, active_admin, &b.user_id).await;
        assert_eq!(left, 1, "{how}: one of the two is still an active administrator");
    }
}

/// A project moved to the trash twice at once (two tabs), then restored twice at once: each
/// happens once, with one audit entry, and the other request is told why (404: already in
/// the trash; 409: not deleted any more).
async fn a_project_deleted_or_restored_twice_at_once_changes_once(app: TestApp) {
    let owner = app.signup("owner@trash.example").await;
    let org = app.organization(&owner, "Trash").await;
    let project_id = project(&app, &owner, &org, "Twice").await;
    let path = format!("/api/v1/studio/projects/{project_id}");
    let deletes = at_once(2, |_| async { app.delete(&path, Some(&owner.access)).await.status }).await;
    assert_eq!((count(&deletes, 204), count(&deletes, 404)), (1, 1), "{deletes:?}");
    let restore = format!("{path}/restore");
    let restores = at_once(2, |_| async { app.post(&restore, Some(&owner.access), json!({})).await.status }).await;
    assert_eq!((count(&restores, 200), count(&restores, 409)), (1, 1), "{restores:?}");
    let audited = |action: &'static str| {
        let org = org.clone();
        let app = &app;
        async move {
            let sql = format!("SELECT COUNT(*) FROM audit_log WHERE organization_id = $1 AND action = '{action}'");
            let n: i64 = app.db.scalar(sqlx::AssertSqlSafe(sql), kernel::args![org]).await.expect("count");
            n
        }
    };
    assert_eq!((audited("PROJECT_DELETED").await, audited("PROJECT_RESTORED").await), (1, 1));
}

/// A person erases their account while an administrator deletes it: one erasure happens, the
/// other finds the account gone (404), never a deadlock's 500 (the two took the person's row
/// and their organization in opposite orders).
async fn an_account_erased_by_its_owner_and_an_administrator_at_once_is_erased_once(app: TestApp) {
    let admin = app.admin("root@erased.example").await;
    for round in 0..3 {
        let person = app.signup(&format!("p{round}@erased.example")).await;
        app.organization(&person, &format!("Alone {round}")).await;
        let me = "/api/v1/foundation/users/me";
        let user = format!("/api/v1/admin/users/{}", person.user_id);
        let (own, by_admin) = tokio::join!(
            app.request(reqwest::Method::DELETE, me, Some(&person.access), Some(json!({"password": PASSWORD}))),
            app.delete(&user, Some(&admin.access))
        );
        let mut statuses = [own.status, by_admin.status];
        statuses.sort_unstable();
        // The person's request may also find their session already ended (401).
        assert!(matches!(statuses, [204, 401 | 404]), "round {round}: {statuses:?} {} {}", own.body, by_admin.body);
    }
}

/// What the audit trail of `org` records after its entry `action`. Each entry is written
/// under the hold its change took (the deletion's under the row it marks), so their order
/// is the order in which the changes ran; the rows' own times are read before waiting.
async fn audited_after(app: &TestApp, org: &str, action: &str) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .db
        .fetch_all(
            "SELECT action FROM audit_log WHERE organization_id = $1 ORDER BY created_at, id",
            kernel::args![org.to_string()],
        )
        .await
        .expect("audit");
    rows.into_iter().map(|(a,)| a).skip_while(|a| a != action).skip(1).collect()
}

/// Many updates of one record at once, then deletes: each answers (200, then 204 or 404),
/// none waits for a connection it cannot get (PostgreSQL answered 503 after 10 s when an
/// update's transaction held a connection while its reads waited for another).
async fn racing_updates_and_deletes_of_records_all_answer(app: TestApp) {
    let fields = json!([{"name": "title", "type": "text"}]);
    crate::runtime_listing::app_with(&app, "updates@races.example", "raced-updates", fields).await;
    let base = "/apps/raced-updates/api/collections/items/records";
    let created = app.post(base, None, json!({"title": "first"})).await.expect(200);
    let path = format!("{base}/{}", created.body["id"].as_str().expect("id"));
    let updated = at_once(24, |i| {
        let (app, path) = (&app, &path);
        async move { app.patch(path, None, json!({"title": format!("title {i}")})).await.status }
    })
    .await;
    assert_eq!(count(&updated, 200), 24, "{updated:?}");
    let deleted = at_once(24, |_| async { app.delete(&path, None).await.status }).await;
    assert_eq!((count(&deleted, 204), count(&deleted, 404)), (1, 23), "{deleted:?}");
}

/// Many batches at once, each creating records and updating one it created: each commits
/// (200), none waits for a connection it cannot get.
async fn racing_batches_all_answer(app: TestApp) {
    let fields = json!([{"name": "title", "type": "text"}]);
    let (owner, _, _) = crate::runtime_listing::app_with(&app, "batches@races.example", "raced-batches", fields).await;
    let (app, owner) = (&app, &owner);
    let batched = at_once(24, |i| async move {
        let create = |title: String| {
            json!({"method": "POST", "url": "/api/collections/items/records", "body": {"id": format!("batch{i:03}{title}zzzzzz"), "title": title}})
        };
        let update = json!({"method": "PATCH", "url": format!("/api/collections/items/records/batch{i:03}azzzzzz"), "body": {"title": "updated"}});
        let requests = json!([create("a".into()), create("b".into()), update]);
        app.post("/apps/raced-batches/api/batch", Some(&owner.access), json!({"requests": requests})).await.status
    })
    .await;
    assert_eq!(count(&batched, 200), 24, "{batched:?}");
    let list = app.get("/apps/raced-batches/api/collections/items/records?filter=title='updated'", None).await;
    assert_eq!(list.expect(200).body["totalItems"], 24);
}

/// Pages added at one position at once each get their own place (positions stay 0..n), and
/// saves of one page without a version to check (no If-Match) all land, the last one
/// winning; a save from a stale version is still refused.
async fn racing_page_saves_keep_the_order_and_all_land(app: TestApp) {
    let owner = app.signup("pages@races.example").await;
    let org = app.organization(&owner, "Pages").await;
    let project_id = project(&app, &owner, &org, "Pages").await;
    let pages = format!("/api/v1/studio/projects/{project_id}/pages");
    let (app, owner, pages) = (&app, &owner, pages.as_str());
    let added = at_once(8, |i| async move {
        app.post(pages, Some(&owner.access), json!({"name": format!("Page {i}"), "position": 0})).await.status
    })
    .await;
    assert_eq!(count(&added, 201), 8, "{added:?}");
    let listed = app.get(pages, Some(&owner.access)).await.expect(200);
    let positions: Vec<i64> =
        listed.body.as_array().expect("pages").iter().filter_map(|p| p["position"].as_i64()).collect();
    assert_eq!(positions, (0..8).collect::<Vec<_>>());
    let page = format!("{pages}/{}", listed.body[0]["id"].as_str().expect("id"));
    let page = page.as_str();
    let saved = at_once(8, |i| async move {
        app.patch(page, Some(&owner.access), json!({"name": format!("Renamed {i}")})).await.status
    })
    .await;
    assert_eq!(count(&saved, 200), 8, "{saved:?}");
    let now = app.get(page, Some(&owner.access)).await.expect(200);
    assert_eq!(now.body["version"], 9);
    app.patch(page, Some(&owner.access), json!({"name": "Stale", "version": 3})).await.expect(409);
}

/// Two checkouts for one plan opened at once (two tabs, a double click) and both paid: each
/// payment is invoiced and buys a period; the second used to restart the period the first
/// had paid for, so it bought nothing.
async fn a_plan_paid_twice_buys_two_periods(mut app: TestApp) {
    crate::payments::settle_at_once(&mut app).await;
    let owner = app.signup("twice@races.example").await;
    let org = app.organization(&owner, "Twice").await;
    let subscribe = json!({"organization_id": org, "plan": "PRO", "period": "month",
        "success_url": "https://shop.test/ok", "cancel_url": "https://shop.test/ko"});
    let (app, owner) = (&app, &owner);
    let opened = futures_util::future::join_all(
        (0..2).map(|_| app.post("/api/v1/billing/subscribe", Some(&owner.access), subscribe.clone())),
    )
    .await;
    let payments: Vec<String> =
        opened.iter().map(|r| r.body["payment"]["id"].as_str().expect("a checkout").to_string()).collect();
    let me = format!("/api/v1/billing/me?organization_id={org}");
    let mut ends = Vec::new();
    for payment in &payments {
        assert_eq!(crate::payments::pay(app, payment, "4242424242424242", "pay").await.0, 303);
        app.settled().await;
        let now = app.get(&me, Some(&owner.access)).await.expect(200);
        let end = now.body["current_period_end"].as_str().expect("a period end").to_string();
        ends.push(time::OffsetDateTime::parse(&end, &time::format_description::well_known::Rfc3339).expect("date"));
    }
    let bought = ends[1] - ends[0];
    assert!(bought > time::Duration::days(27), "the second payment bought {bought}");
    let invoices = app.get(&format!("/api/v1/billing/invoices?organization_id={org}"), Some(&owner.access)).await;
    assert_eq!(invoices.expect(200).body["items"].as_array().map(Vec::len), Some(2));
}

/// Records racing for one unique value (a handle, an end user's address): one gets it, and
/// each other is told which field is taken, as it would be had it come second.
async fn a_unique_value_taken_meanwhile_names_its_field(app: TestApp) {
    let app = &app;
    let owner = app.signup("owner@unique-races.example").await;
    let org = app.organization(&owner, "Handles").await;
    let project_id = project(app, &owner, &org, "Handles").await;
    app.post(
        &format!("/api/v1/studio/projects/{project_id}/collections"),
        Some(&owner.access),
        json!({"name": "handles", "fields": [{"name": "handle", "type": "text", "unique": true}],
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": ""}),
    )
    .await
    .expect(201);
    crate::runtime::create_and_deploy(app, &owner, &project_id, "handles").await;
    let records = "/apps/handles/api/collections/handles/records";

    let created = futures_util::future::join_all(
        (0..6).map(|_| async { app.post(records, None, json!({"handle": "ada"})).await }),
    )
    .await;
    let statuses: Vec<u16> = created.iter().map(|r| r.status).collect();
    assert_eq!((count(&statuses, 200), count(&statuses, 400)), (1, 5), "{statuses:?}");
    each_refusal_names(&created, "handle");

    let mut ids = vec![];
    for handle in ["bea", "cy"] {
        let r = app.post(records, None, json!({"handle": handle})).await.expect(200);
        ids.push(r.body["id"].as_str().expect("id").to_string());
    }
    let updated = futures_util::future::join_all(
        ids.iter().map(|id| async move { app.patch(&format!("{records}/{id}"), None, json!({"handle": "dee"})).await }),
    )
    .await;
    let statuses: Vec<u16> = updated.iter().map(|r| r.status).collect();
    assert_eq!((count(&statuses, 200), count(&statuses, 400)), (1, 1), "{statuses:?}");
    each_refusal_names(&updated, "handle");

    let users = "/apps/handles/api/collections/users/records";
    let signed_up = futures_util::future::join_all((0..6).map(|_| async {
        app.post(
            users,
            None,
            json!({"email": "same@unique-races.example", "password": "secret-pass-123",
            "passwordConfirm": "secret-pass-123"}),
        )
        .await
    }))
    .await;
    let statuses: Vec<u16> = signed_up.iter().map(|r| r.status).collect();
    assert_eq!((count(&statuses, 200), count(&statuses, 400)), (1, 5), "{statuses:?}");
    each_refusal_names(&signed_up, "email");

    // Two end users confirming a change to one new address at once: one gets it.
    let users = "/apps/handles/api/collections/users";
    let mut confirmations = vec![];
    for (n, who) in ["fay@unique-races.example", "gus@unique-races.example"].into_iter().enumerate() {
        let (token, _) = crate::runtime::end_user(app, "handles", who).await;
        let body = json!({"newEmail": "wanted@unique-races.example"});
        let asked = app
            .client
            .post(app.url(&format!("{users}/request-email-change")))
            .header("authorization", token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(asked.status(), 204);
        let change =
            app.wait_for_nth_email("wanted@unique-races.example", "Confirm your new email", n + 1).await.token();
        confirmations.push(json!({"token": change, "password": "secret-pass-123"}));
    }
    let confirm = format!("{users}/confirm-email-change");
    let confirmed =
        futures_util::future::join_all(confirmations.iter().map(|body| app.post(&confirm, None, body.clone()))).await;
    let statuses: Vec<u16> = confirmed.iter().map(|r| r.status).collect();
    assert_eq!((count(&statuses, 204), count(&statuses, 400)), (1, 1), "{statuses:?}");
    each_refusal_names(&confirmed, "newEmail");
}

/// Each 400 among `answers` names `field` alone as taken (PocketBase's `validation_not_unique`).
fn each_refusal_names(answers: &[crate::support::Resp], field: &str) {
    for refused in answers.iter().filter(|r| r.status == 400) {
        let named: Option<Vec<String>> =
            refused.body["data"].as_object().map(|d| d.iter().map(|(k, v)| format!("{k}:{}", v["code"])).collect());
        assert_eq!(named, Some(vec![format!("{field}:\"validation_not_unique\"")]), "{}", refused.body);
    }
}

/// An app's one-time password sent several times at once (a double submit): one signs in;
/// the others find it spent, "invalid or expired", not "too many attempts".
async fn an_app_code_spent_meanwhile_is_invalid_not_rate_limited(app: TestApp) {
    let app = &app;
    let (owner, project_id, app_id) = crate::runtime::blog(app, "owner@otp-races.example", "otpraces").await;
    crate::app_factors::configure_users(
        app,
        &owner,
        &project_id,
        &app_id,
        json!({"otp": {"enabled": true, "duration": 120, "length": 6}}),
    )
    .await;
    crate::runtime::end_user(app, "otpraces", "eve@otp-races.example").await;
    let base = "/apps/otpraces/api/collections/users";
    for round in 1..=3 {
        let sent =
            app.post(&format!("{base}/request-otp"), None, json!({"email": "eve@otp-races.example"})).await.expect(200);
        let otp_id = sent.body["otpId"].as_str().expect("otpId").to_string();
        let code = crate::app_factors::otp_code(app, "eve@otp-races.example", round).await;
        let answers = futures_util::future::join_all((0..4).map(|_| async {
            app.post(&format!("{base}/auth-with-otp"), None, json!({"otpId": otp_id, "password": code})).await
        }))
        .await;
        let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
        assert_eq!((count(&statuses, 200), count(&statuses, 400)), (1, 3), "round {round}: {statuses:?}");
        for refused in answers.iter().filter(|r| r.status == 400) {
            assert_eq!(refused.body["message"], "Invalid or expired OTP");
        }
    }
}
