//! The expression language against real tables on both databases: a table of filters with
//! the records each must select, and a property test that SQL and in-memory evaluation
//! agree on random records and random well-typed expressions.

use collections::ddl::Namespace;
use collections::rows;
use collections::schema::{ProjectSchema, compile_filter};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use studio::collections::service;

use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::TestApp;

on_both_databases!(a_table_of_filters_selects_the_expected_records, sql_and_memory_evaluation_agree);

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-06-15 12:00:00 UTC);

struct Fixture {
    schema: ProjectSchema,
    /// Each post as the evaluator sees it: relations expanded in place.
    posts: Vec<Value>,
    auth: Value,
}

async fn fixture(app: &TestApp, seed: u64, people: usize, posts: usize) -> Fixture {
    let owner = app.signup(&format!("expr{seed}@studio.example")).await;
    let org = app.organization(&owner, "Expr").await;
    let id = project(app, &owner, &org, "Expr").await;
    let base = format!("/api/v1/studio/projects/{id}/collections");
    app.post(&base, Some(&owner.access), json!({"name": "people", "fields": [
        {"name": "name", "type": "text"}, {"name": "age", "type": "number"}, {"name": "admin", "type": "bool"}, {"name": "joined", "type": "date"}
    ]})).await.expect(201);
    app.post(&base, Some(&owner.access), json!({"name": "posts", "fields": [
        {"name": "title", "type": "text"}, {"name": "views", "type": "number"}, {"name": "published", "type": "bool"},
        {"name": "day", "type": "date"}, {"name": "tags", "type": "select", "values": ["a", "b", "c", "d"], "maxSelect": 4},
        {"name": "author", "type": "relation", "collectionId": "people"},
        {"name": "editors", "type": "relation", "collectionId": "people", "maxSelect": 3}
    ]})).await.expect(201);
    let ns = Namespace::for_project(app.db.kind(), &id);
    let all = service::load(&app.db, &id).await.expect("load");
    let schema = ProjectSchema::new(ns.clone(), all);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tx = app.db.begin().await.expect("tx");
    let people_c = schema.get("people").expect("people").clone();
    let posts_c = schema.get("posts").expect("posts").clone();
    let mut person_ids = Vec::new();
    for _ in 0..people {
        let values = json!({"name": *TEXTS.choose(&mut rng).unwrap_or(&""), "age": *NUMBERS.choose(&mut rng).unwrap_or(&0.0),
            "admin": rng.random_bool(0.5), "joined": *DATES.choose(&mut rng).unwrap_or(&"")});
        person_ids
            .push(rows::insert_row(&mut tx, &ns, &people_c, values.as_object().expect("obj")).await.expect("person"));
    }
    for i in 0..posts {
        let mut tags: Vec<&str> = ["a", "b", "c", "d"].to_vec();
        tags.shuffle(&mut rng);
        tags.truncate(rng.random_range(0..=3));
        let mut editors = person_ids.clone();
        editors.shuffle(&mut rng);
        editors.truncate(rng.random_range(0..=3));
        let author =
            if rng.random_bool(0.8) { person_ids.choose(&mut rng).cloned().unwrap_or_default() } else { String::new() };
        let title = if i == 0 { "Ab".to_string() } else { TEXTS.choose(&mut rng).unwrap_or(&"").to_string() };
        let values = json!({"title": title, "views": *NUMBERS.choose(&mut rng).unwrap_or(&0.0), "published": rng.random_bool(0.5),
            "day": *DATES.choose(&mut rng).unwrap_or(&""), "tags": tags, "author": author, "editors": editors});
        rows::insert_row(&mut tx, &ns, &posts_c, values.as_object().expect("obj")).await.expect("post");
    }
    tx.commit().await.expect("commit");
    let people_rows = rows::read_rows(&app.db, &ns, &people_c, None).await.expect("people");
    let find = |id: &Value| {
        people_rows.iter().find(|p| p.get("id") == Some(id)).cloned().map(Value::Object).unwrap_or(Value::Null)
    };
    let posts = rows::read_rows(&app.db, &ns, &posts_c, None)
        .await
        .expect("posts")
        .into_iter()
        .map(|mut p: Map<String, Value>| {
            let author = p.get("author").cloned().unwrap_or(Value::Null);
            p.insert("author".into(), if author == "" { Value::Null } else { find(&author) });
            let editors: Vec<Value> =
                p.get("editors").and_then(Value::as_array).cloned().unwrap_or_default().iter().map(find).collect();
            p.insert("editors".into(), Value::Array(editors));
            Value::Object(p)
        })
        .collect();
    Fixture {
        schema,
        posts,
        auth: json!({"id": person_ids.first().cloned().unwrap_or_default(), "name": "ab", "age": 10}),
    }
}

const TEXTS: [&str; 8] = ["", "a", "ab", "Ab", "b", "ba", "a_b", "x%"];
const NUMBERS: [f64; 6] = [0.0, 1.0, 2.5, 10.0, -3.0, 100.0];
const DATES: [&str; 5] = [
    "",
    "2026-06-15 08:00:00.000Z",
    "2026-01-01 00:00:00.000Z",
    "2025-12-31 23:59:59.999Z",
    "2026-06-16 00:00:00.000Z",
];

/// Ids of the posts `filter` selects, by SQL and by the evaluator.
async fn both_ways(app: &TestApp, f: &Fixture, filter: &str) -> (Vec<String>, Vec<String>) {
    let null = Value::Null;
    let ctx = expr::eval::Context { record: &null, auth: Some(&f.auth), body: &null, query: &null, now: NOW };
    let (cond, args) =
        compile_filter(&f.schema, "posts", filter, &ctx, app.db.kind()).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let sql = format!("SELECT r.\"id\" FROM {} AS r WHERE {cond} ORDER BY r.\"id\"", f.schema.ns.table("posts"));
    let rows: Vec<(String,)> = app
        .db
        .fetch_all(sqlx::AssertSqlSafe(sql.clone()), args)
        .await
        .unwrap_or_else(|e| panic!("{filter}: {e}\n{sql}"));
    let by_sql: Vec<String> = rows.into_iter().map(|(id,)| id).collect();
    let parsed = expr::parse(filter).expect("parse");
    let mut by_memory = Vec::new();
    for post in &f.posts {
        let ctx = expr::eval::Context { record: post, auth: Some(&f.auth), body: &null, query: &null, now: NOW };
        if expr::eval::evaluate(&parsed, &ctx).unwrap_or_else(|e| panic!("{filter}: {e}")) {
            by_memory.push(post["id"].as_str().unwrap_or_default().to_string());
        }
    }
    by_memory.sort();
    (by_sql, by_memory)
}

async fn a_table_of_filters_selects_the_expected_records(app: TestApp) {
    let owner = app.signup("table@studio.example").await;
    let org = app.organization(&owner, "Table").await;
    let id = project(&app, &owner, &org, "Table").await;
    let base = format!("/api/v1/studio/projects/{id}/collections");
    app.post(
        &base,
        Some(&owner.access),
        json!({"name": "people", "fields": [{"name": "name", "type": "text"}, {"name": "age", "type": "number"}]}),
    )
    .await
    .expect(201);
    app.post(&base, Some(&owner.access), json!({"name": "posts", "fields": [
        {"name": "title", "type": "text"}, {"name": "views", "type": "number"}, {"name": "published", "type": "bool"},
        {"name": "tags", "type": "select", "values": ["rust", "web", "db"], "maxSelect": 3},
        {"name": "author", "type": "relation", "collectionId": "people"},
        {"name": "meta", "type": "json"}, {"name": "day", "type": "date"}
    ]})).await.expect(201);
    let ns = Namespace::for_project(app.db.kind(), &id);
    let schema = ProjectSchema::new(ns.clone(), service::load(&app.db, &id).await.expect("load"));
    let mut tx = app.db.begin().await.expect("tx");
    let people = schema.get("people").expect("people").clone();
    let posts = schema.get("posts").expect("posts").clone();
    let ada = rows::insert_row(&mut tx, &ns, &people, json!({"name": "Ada", "age": 36}).as_object().expect("o"))
        .await
        .expect("ada");
    let bob = rows::insert_row(&mut tx, &ns, &people, json!({"name": "Bob", "age": 20}).as_object().expect("o"))
        .await
        .expect("bob");
    for (title, views, published, tags, author, meta, day) in [
        (
            "Hello World",
            42.0,
            true,
            json!(["rust", "web"]),
            ada.as_str(),
            json!({"lang": "en", "n": 3}),
            "2026-06-15 09:00:00.000Z",
        ),
        (
            "Bonjour",
            7.0,
            false,
            json!(["web"]),
            bob.as_str(),
            json!({"lang": "fr", "n": 1}),
            "2026-05-01 00:00:00.000Z",
        ),
        ("Draft", 0.0, false, json!([]), "", Value::Null, ""),
    ] {
        let v = json!({"title": title, "views": views, "published": published, "tags": tags, "author": author, "meta": meta, "day": day});
        rows::insert_row(&mut tx, &ns, &posts, v.as_object().expect("o")).await.expect("post");
    }
    tx.commit().await.expect("commit");
    let auth = json!({"id": ada, "name": "Ada"});
    let null = Value::Null;
    let ctx = expr::eval::Context { record: &null, auth: Some(&auth), body: &null, query: &null, now: NOW };
    let cases: &[(&str, &[&str])] = &[
        ("title = 'Hello World'", &["Hello World"]),
        ("title ~ 'o'", &["Hello World", "Bonjour"]),
        ("title ~ 'WORLD'", &["Hello World"]),
        ("title !~ 'o'", &["Draft"]),
        ("title ~ 'B%r'", &["Bonjour"]),
        ("views > 5 && views < 50", &["Hello World", "Bonjour"]),
        ("views >= 42 || published = false", &["Hello World", "Bonjour", "Draft"]),
        ("published = true", &["Hello World"]),
        ("tags ?= 'web'", &["Hello World", "Bonjour"]),
        ("tags = 'web'", &["Bonjour"]),
        ("tags = ''", &["Draft"]),
        ("tags:length = 2", &["Hello World"]),
        ("tags:each ?~ 'ru'", &["Hello World"]),
        ("author.name = 'Ada'", &["Hello World"]),
        ("author.age < 30", &["Bonjour"]),
        ("author = ''", &["Draft"]),
        ("author = @request.auth.id", &["Hello World"]),
        ("author.name = @request.auth.name && published = true", &["Hello World"]),
        ("@request.auth.name = 'Ada'", &["Hello World", "Bonjour", "Draft"]),
        ("@request.auth.name = 'Eve'", &[]),
        ("meta.lang = 'fr'", &["Bonjour"]),
        ("meta.n > 2", &["Hello World"]),
        ("meta.lang = null", &["Draft"]),
        ("day >= @todayStart && day <= @todayEnd", &["Hello World"]),
        ("day < @monthStart && day != ''", &["Bonjour"]),
        ("@collection.people.name ?= 'Bob' && title = 'Draft'", &["Draft"]),
        ("@collection.people.age ?> 30 && author.age > 30", &["Hello World"]),
        ("title:lower = 'draft'", &["Draft"]),
        ("(title = 'Draft' || title = 'Bonjour') && views < 5", &["Draft"]),
        ("// comment\ntitle = \"Bonjour\"", &["Bonjour"]),
    ];
    for (filter, expected) in cases {
        let (cond, args) =
            compile_filter(&schema, "posts", filter, &ctx, app.db.kind()).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let sql = format!("SELECT r.\"title\" FROM {} AS r WHERE {cond} ORDER BY r.\"title\"", ns.table("posts"));
        let got: Vec<(String,)> = app
            .db
            .fetch_all(sqlx::AssertSqlSafe(sql.clone()), args)
            .await
            .unwrap_or_else(|e| panic!("{filter}: {e}\n{sql}"));
        let mut want: Vec<&str> = expected.to_vec();
        want.sort();
        let got: Vec<String> = got.into_iter().map(|(t,)| t).collect();
        assert_eq!(got, want, "{filter}\n{sql}");
    }
    // Malformed and ill-typed filters are refused with the position.
    for (filter, position) in
        [("title = ", "position 8"), ("titel = 'x'", "position 0"), ("views > 'many'", "position 8")]
    {
        let e = compile_filter(&schema, "posts", filter, &ctx, app.db.kind()).expect_err(filter);
        assert!(e.to_string().contains("filter") || matches!(e, kernel::Error::Validation(_)), "{filter}: {e}");
        if let kernel::Error::Validation(fields) = e {
            assert!(fields[0].message.contains(position), "{filter}: {}", fields[0].message);
        }
    }
}

/// A random operand of one type: (text, is a field).
fn operand(rng: &mut StdRng, ty: &str, allow_literal: bool) -> String {
    let fields: &[&str] = match ty {
        "text" => &["title", "author.name", "editors.name", "tags", "tags:each", "title:lower", "editors.name:lower"],
        "number" => &["views", "author.age", "editors.age", "tags:length", "editors:length"],
        "bool" => &["published", "author.admin", "editors.admin"],
        _ => &["day", "author.joined", "editors.joined"],
    };
    if allow_literal && rng.random_bool(0.55) {
        return match ty {
            "text" => match rng.random_range(0..10) {
                0 => "@request.auth.name".into(),
                1 => "null".into(),
                _ => format!("'{}'", TEXTS.choose(rng).unwrap_or(&"")),
            },
            "number" => match rng.random_range(0..8) {
                0 => "@request.auth.age".into(),
                _ => NUMBERS.choose(rng).map(|n| n.to_string()).unwrap_or_default(),
            },
            "bool" => {
                if rng.random_bool(0.5) {
                    "true".into()
                } else {
                    "false".into()
                }
            }
            _ => match rng.random_range(0..4) {
                0 => "@now".into(),
                1 => "@todayStart".into(),
                2 => "@yearStart".into(),
                _ => format!("'{}'", DATES.choose(rng).unwrap_or(&"")),
            },
        };
    }
    fields.choose(rng).unwrap_or(&"title").to_string()
}

fn comparison(rng: &mut StdRng) -> String {
    let ty = *["text", "text", "number", "number", "bool", "date"].choose(rng).unwrap_or(&"text");
    let ops: &[&str] = match ty {
        "text" => &["=", "!=", "~", "!~", ">", "<", ">=", "<="],
        "number" => &["=", "!=", ">", ">=", "<", "<="],
        "bool" => &["=", "!="],
        _ => &["=", "!=", ">", ">=", "<", "<="],
    };
    let op = *ops.choose(rng).unwrap_or(&"=");
    let left = operand(rng, ty, false);
    let mut right = operand(rng, ty, true);
    let ordered_or_like = !matches!(op, "=" | "!=");
    if ordered_or_like && right == "null" {
        right = "'a'".into();
    }
    let any = if rng.random_bool(0.4) { "?" } else { "" };
    if rng.random_bool(0.2) { format!("{right} {any}{op} {left}") } else { format!("{left} {any}{op} {right}") }
}

fn expression(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.random_bool(0.5) {
        return comparison(rng);
    }
    let (a, b) = (expression(rng, depth - 1), expression(rng, depth - 1));
    match rng.random_range(0..3) {
        0 => format!("{a} && {b}"),
        1 => format!("{a} || {b}"),
        _ => format!("({a} || {b}) && {}", comparison(rng)),
    }
}

async fn sql_and_memory_evaluation_agree(app: TestApp) {
    let cases: usize = std::env::var("SOCLE_EXPR_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let seed = std::env::var("SOCLE_EXPR_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20261121u64);
    let f = fixture(&app, seed, 5, 14).await;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut selective = 0;
    for _ in 0..cases {
        let filter = expression(&mut rng, 2);
        let (by_sql, by_memory) = both_ways(&app, &f, &filter).await;
        assert_eq!(by_sql, by_memory, "SQL and memory disagree on {filter:?} (seed {seed})");
        if !by_sql.is_empty() && by_sql.len() < f.posts.len() {
            selective += 1;
        }
    }
    // The generated filters are not all trivially true or false.
    assert!(selective * 4 > cases, "only {selective} of {cases} filters selected some but not all posts");
}
