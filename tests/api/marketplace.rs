//! The marketplace end to end: a template (a project with a collection) and components
//! published, rejected with a reason or approved by an administrator, searched, a paid
//! template bought through the sandbox and installed as a new project of the buyer, a free
//! component installed into its library, rated once, and the seller's sales and balance;
//! with who may do what.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::payments::pay;
use crate::studio_projects::project;
use crate::support::{Session, TestApp};

on_both_databases!(items_are_published_reviewed_bought_installed_and_rated);

const ITEMS: &str = "/api/v1/marketplace/items";
const ADMIN_ITEMS: &str = "/api/v1/admin/marketplace/items";

async fn publish(app: &TestApp, who: &Session, body: Value) -> String {
    let r = app.post(ITEMS, Some(&who.access), body).await.expect(201);
    assert_eq!(r.body["status"], "pending");
    r.body["id"].as_str().expect("id").to_string()
}

async fn items_are_published_reviewed_bought_installed_and_rated(mut app: TestApp) {
    crate::payments::settle_at_once(&mut app).await;
    let seller = app.signup("seller@market.example").await;
    let seller_org = app.organization(&seller, "Templates Inc").await;
    let blog = project(&app, &seller, &seller_org, "Blog starter").await;
    app.post(
        &format!("/api/v1/studio/projects/{blog}/collections"),
        Some(&seller.access),
        json!({"name": "articles", "fields": [{"name": "title", "type": "text", "required": true}]}),
    )
    .await
    .expect(201);
    let component = |name: &str| {
        json!({"organization_id": seller_org, "name": name,
            "props_schema": {"type": "object", "properties": {"title": {"type": "string"}}},
            "document": {"type": "section", "children": [{"type": "heading", "props": {"text": "Hello"}}]}})
    };
    let hero = app.post("/api/v1/studio/components", Some(&seller.access), component("hero")).await.expect(201);
    let hero = hero.body["id"].as_str().expect("id").to_string();
    let footer = app.post("/api/v1/studio/components", Some(&seller.access), component("footer")).await.expect(201);
    let footer = footer.body["id"].as_str().expect("id").to_string();

    // Selling needs a verified organization (KYC/KYB approved by an administrator).
    let admin = app.admin("root@market.example").await;
    let paid = json!({"organization_id": seller_org, "kind": "template", "project_id": blog, "title": "Blog starter",
        "description": "A blog with articles", "category": "blog", "price": 1500, "currency": "EUR",
        "license": "commercial"});
    let refused = app.post("/api/v1/marketplace/items", Some(&seller.access), paid).await.expect(403);
    assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("verified organization")), "{}", refused.body);
    crate::verification::verify(&app, &seller, &seller_org, &admin).await;

    // Published: a paid template and two free components, all waiting for review.
    let template = publish(
        &app,
        &seller,
        json!({"organization_id": seller_org, "kind": "template", "project_id": blog, "title": "Blog starter",
            "description": "A blog with articles", "category": "blog", "price": 1500, "currency": "EUR",
            "license": "commercial", "screenshots": ["https://img.example/blog.png"]}),
    )
    .await;
    let hero_item = publish(
        &app,
        &seller,
        json!({"organization_id": seller_org, "kind": "component", "component_id": hero, "title": "Hero banner",
            "category": "sections", "license": "MIT"}),
    )
    .await;
    let footer_item = publish(
        &app,
        &seller,
        json!({"organization_id": seller_org, "kind": "component", "component_id": footer, "title": "Footer",
            "category": "sections", "license": "MIT"}),
    )
    .await;
    assert_eq!(app.get(ITEMS, None).await.expect(200).body["total_items"], 0, "nothing listed before review");
    let buyer = app.signup("buyer@market.example").await;
    app.get(&format!("{ITEMS}/{template}"), Some(&buyer.access)).await.expect(404);
    app.get(&format!("{ITEMS}/{template}"), Some(&seller.access)).await.expect(200);

    // Reviewed by an administrator.
    let queue = app.get(ADMIN_ITEMS, Some(&admin.access)).await.expect(200).body;
    assert_eq!(queue.as_array().map(Vec::len), Some(3));
    app.post(&format!("{ADMIN_ITEMS}/{footer_item}/reject"), Some(&admin.access), json!({}))
        .await
        .expect_field_error(422, "reason");
    let rejected = app
        .post(&format!("{ADMIN_ITEMS}/{footer_item}/reject"), Some(&admin.access), json!({"reason": "No screenshots"}))
        .await
        .expect(200);
    assert_eq!(
        (rejected.body["status"].as_str(), rejected.body["rejection_reason"].as_str()),
        (Some("rejected"), Some("No screenshots"))
    );
    for id in [&template, &hero_item] {
        app.post(&format!("{ADMIN_ITEMS}/{id}/approve"), Some(&admin.access), json!({})).await.expect(200);
    }
    app.post(&format!("{ADMIN_ITEMS}/{template}/approve"), Some(&admin.access), json!({})).await.expect(409);
    assert!(app.audit_actions().await.contains(&"MARKETPLACE_ITEM_REJECTED".to_string()));

    // Listed and searched.
    let listed = app.get(ITEMS, None).await.expect(200).body;
    assert_eq!(listed["total_items"], 2);
    let found = app.get(&format!("{ITEMS}?q=ARTICLES"), None).await.expect(200).body;
    assert_eq!((found["total_items"].as_i64(), found["items"][0]["id"].as_str()), (Some(1), Some(template.as_str())));
    let free = app.get(&format!("{ITEMS}?free=true&kind=component&category=sections"), None).await.expect(200).body;
    assert_eq!((free["total_items"].as_i64(), free["items"][0]["id"].as_str()), (Some(1), Some(hero_item.as_str())));
    let dearest = app.get(&format!("{ITEMS}?sort=price_desc"), None).await.expect(200).body;
    assert_eq!(dearest["items"][0]["id"], template.as_str());
    app.get(&format!("{ITEMS}?min_rating=6"), None).await.expect_field_error(422, "min_rating");
    app.get(&format!("{ITEMS}?sort=cheapest"), None).await.expect_field_error(422, "sort");
    app.get(&format!("{ITEMS}?kind=theme"), None).await.expect_field_error(422, "kind");

    // Bought through the sandbox, then installed as a project of the buyer.
    let buyer_org = app.organization(&buyer, "Buyer Co").await;
    let install = |org: &str| json!({"organization_id": org});
    app.post(&format!("{ITEMS}/{template}/install"), Some(&buyer.access), install(&buyer_org)).await.expect(403);
    let buy = json!({"organization_id": buyer_org, "success_url": "https://buyer.test/ok", "cancel_url": "https://buyer.test/ko"});
    let started = app.post(&format!("{ITEMS}/{template}/purchase"), Some(&buyer.access), buy.clone()).await.expect(200);
    assert_eq!(
        (started.body["purchase"]["status"].as_str(), started.body["purchase"]["price"].as_i64()),
        (Some("pending"), Some(1500))
    );
    let payment = started.body["purchase"]["payment_id"].as_str().expect("payment").to_string();
    // A second click a minute later opens a second checkout, and the buyer pays both: the
    // first completes the purchase, the second is refunded (an admin need not notice).
    let again = app.post(&format!("{ITEMS}/{template}/purchase"), Some(&buyer.access), buy.clone()).await.expect(200);
    let second = again.body["purchase"]["payment_id"].as_str().expect("payment").to_string();
    assert_ne!(payment, second, "a checkout of its own");
    assert_eq!(pay(&app, &payment, "4242424242424242", "pay").await.0, 303);
    assert_eq!(pay(&app, &second, "4242424242424242", "pay").await.0, 303);
    app.settled().await;
    app.post(&format!("{ITEMS}/{template}/purchase"), Some(&buyer.access), buy.clone()).await.expect(409);
    let paid = |id: String| {
        let (app, buyer) = (&app, &buyer);
        async move {
            let p = app.get(&format!("/api/v1/payments/{id}"), Some(&buyer.access)).await.expect(200).body;
            (p["status"].as_str().map(str::to_string), p["amount_refunded"].as_i64())
        }
    };
    assert_eq!(paid(payment.clone()).await, (Some("succeeded".into()), Some(0)));
    assert_eq!(paid(second.clone()).await, (Some("refunded".into()), Some(1500)));
    assert!(app.audit_actions().await.contains(&"PAYMENT_REFUNDED".to_string()));
    let installed = app
        .post(
            &format!("{ITEMS}/{template}/install"),
            Some(&buyer.access),
            json!({"organization_id": buyer_org, "project_name": "My blog"}),
        )
        .await
        .expect(201);
    let new_project = installed.body["project_id"].as_str().expect("project").to_string();
    let p = app.get(&format!("/api/v1/studio/projects/{new_project}"), Some(&buyer.access)).await.expect(200).body;
    assert_eq!((p["organization_id"].as_str(), p["name"].as_str()), (Some(buyer_org.as_str()), Some("My blog")));
    let collections = app.get(&format!("/api/v1/studio/projects/{new_project}/collections"), Some(&buyer.access)).await;
    assert!(collections.expect(200).body.to_string().contains("articles"), "the template's collection came along");

    // A free component installs straight into the library (twice: a second name).
    for expected in ["hero", "hero 2"] {
        let c = app
            .post(&format!("{ITEMS}/{hero_item}/install"), Some(&buyer.access), install(&buyer_org))
            .await
            .expect(201);
        let id = c.body["component_id"].as_str().expect("component").to_string();
        let library =
            app.get(&format!("/api/v1/studio/components?organization_id={buyer_org}"), Some(&buyer.access)).await;
        let library = library.expect(200).body;
        let names: Vec<&str> = library
            .as_array()
            .expect("list")
            .iter()
            .filter(|c| c["id"] == id.as_str())
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, [expected]);
    }

    // Rated once, by someone whose organization has it.
    let review = |rating: i64| json!({"organization_id": buyer_org, "rating": rating, "comment": "Saved me a week"});
    app.post(&format!("{ITEMS}/{template}/reviews"), Some(&buyer.access), review(6))
        .await
        .expect_field_error(422, "rating");
    app.post(&format!("{ITEMS}/{template}/reviews"), Some(&buyer.access), review(5)).await.expect(201);
    app.post(&format!("{ITEMS}/{template}/reviews"), Some(&buyer.access), review(4)).await.expect(409);
    let stranger = app.signup("stranger@market.example").await;
    let stranger_org = app.organization(&stranger, "Nobody").await;
    app.post(
        &format!("{ITEMS}/{template}/reviews"),
        Some(&stranger.access),
        json!({"organization_id": stranger_org, "rating": 1}),
    )
    .await
    .expect(403);
    let rated = app.get(&format!("{ITEMS}/{template}"), None).await.expect(200).body;
    assert_eq!(
        (rated["rating"].as_f64(), rated["rating_count"].as_i64(), rated["sales"].as_i64()),
        (Some(5.0), Some(1), Some(1))
    );
    let reviews = app.get(&format!("{ITEMS}/{template}/reviews"), None).await.expect(200).body;
    assert_eq!(reviews["items"][0]["comment"], "Saved me a week");
    assert_eq!(app.get(&format!("{ITEMS}?min_rating=5"), None).await.expect(200).body["total_items"], 1);

    // The seller's sales and balance, less the platform's 20 %.
    let overview =
        app.get(&format!("/api/v1/marketplace/seller?organization_id={seller_org}"), Some(&seller.access)).await;
    let overview = overview.expect(200).body;
    assert_eq!(overview["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(overview["sales"].as_array().map(Vec::len), Some(2));
    assert_eq!(overview["balance"], json!([{"currency": "EUR", "gross": 1500, "commission": 300, "net": 1200}]));

    // Who may do what.
    app.post(ITEMS, None, json!({})).await.expect(401);
    app.post(
        ITEMS,
        Some(&stranger.access),
        json!({"organization_id": seller_org, "kind": "template", "project_id": blog, "title": "Stolen", "category": "blog", "license": "MIT"}),
    )
    .await
    .expect(404);
    app.post(
        ITEMS,
        Some(&seller.access),
        json!({"organization_id": seller_org, "kind": "widget", "title": "", "category": "Bad Category", "license": "MIT", "price": -1}),
    )
    .await
    .expect_field_error(422, "kind");
    app.post(&format!("{ITEMS}/{template}/purchase"), Some(&seller.access), json!({"organization_id": seller_org}))
        .await
        .expect(409);
    let member = app.signup("member@market.example").await;
    app.add_member(&buyer_org, &buyer, &member, "MEMBER").await;
    app.post(&format!("{ITEMS}/{hero_item}/purchase"), Some(&member.access), json!({"organization_id": buyer_org}))
        .await
        .expect(403);
    app.get(&format!("/api/v1/marketplace/seller?organization_id={seller_org}"), Some(&buyer.access)).await.expect(404);
    app.get(ADMIN_ITEMS, Some(&seller.access)).await.expect(403);
    app.get(ADMIN_ITEMS, None).await.expect(401);
    app.post(&format!("{ADMIN_ITEMS}/{footer_item}/approve"), Some(&seller.access), json!({})).await.expect(403);
    app.get(&format!("{ADMIN_ITEMS}?status=lost"), Some(&admin.access)).await.expect_field_error(422, "status");
}
