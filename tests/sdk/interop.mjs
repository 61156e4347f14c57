// The official PocketBase JavaScript SDK, unchanged, against a Socle app.
// Usage: SOCLE_APP_URL=http://127.0.0.1:PORT/apps/SLUG node interop.mjs
// Exits non-zero (with the reason) on the first difference from what PocketBase does.

import PocketBase from "pocketbase";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";

// Node has no EventSource of its own; the SDK's realtime client needs one.
globalThis.EventSource = EventSource;

const base = process.env.SOCLE_APP_URL;
if (!base) {
  console.error("SOCLE_APP_URL is not set");
  process.exit(2);
}

const pb = new PocketBase(base);
pb.autoCancellation(false);

const step = async (name, fn) => {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    console.error(`not ok - ${name}`);
    console.error(e?.response ? JSON.stringify(e.response) : e);
    process.exit(1);
  }
};

const email = `sdk-${Date.now()}@example.com`;
const password = "sdk-password-123";
let me;
let posts = [];

await step("health", async () => {
  const health = await pb.health.check();
  assert.equal(health.code, 200);
});

await step("auth methods", async () => {
  const methods = await pb.collection("users").listAuthMethods();
  assert.equal(methods.password.enabled, true);
  assert.deepEqual(methods.password.identityFields, ["email"]);
});

await step("sign up", async () => {
  const user = await pb.collection("users").create({ email, password, passwordConfirm: password, name: "SDK User" });
  assert.equal(user.collectionName, "users");
  assert.equal(user.name, "SDK User");
  assert.equal(user.password, undefined);
});

await step("sign in", async () => {
  const auth = await pb.collection("users").authWithPassword(email, password);
  assert.ok(pb.authStore.isValid, "the token is valid");
  assert.equal(auth.record.email, email);
  assert.equal(pb.authStore.record.id, auth.record.id);
  me = auth.record;
});

await step("wrong password", async () => {
  const other = new PocketBase(base);
  await assert.rejects(other.collection("users").authWithPassword(email, "wrong-password-1"), (e) => e.status === 400);
});

const events = [];
let unsubscribe;
await step("subscribe", async () => {
  unsubscribe = await pb.collection("posts").subscribe("*", (e) => events.push(e));
});

await step("create records", async () => {
  for (const [title, views, tags] of [["Alpha", 3, ["news"]], ["Beta", 12, ["tech"]], ["Gamma", 8, ["news", "tech"]]]) {
    posts.push(await pb.collection("posts").create({ title, views, tags, published: true, author: me.id }));
  }
  assert.equal(posts.length, 3);
  assert.equal(posts[0].collectionName, "posts");
  assert.ok(posts[0].created.endsWith("Z"));
});

await step("realtime events", async () => {
  // Until the three arrive; 30 s is only a safety net, not a pace.
  const deadline = Date.now() + 30_000;
  while (events.length < 3 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(events.length, 3, `three create events, got ${JSON.stringify(events)}`);
  assert.deepEqual(events.map((e) => e.action), ["create", "create", "create"]);
  assert.deepEqual(events.map((e) => e.record.title).sort(), ["Alpha", "Beta", "Gamma"]);
  assert.equal(events[0].record.collectionName, "posts");
  await unsubscribe();
});

await step("validation errors", async () => {
  await assert.rejects(pb.collection("posts").create({ title: "", author: me.id }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.response.data.title.code, "validation_required");
    return true;
  });
});

await step("list with filter, sort and expand", async () => {
  const page = await pb.collection("posts").getList(1, 10, {
    filter: pb.filter("views > {:min} && tags ?= {:tag}", { min: 5, tag: "tech" }),
    sort: "-views",
    expand: "author",
  });
  assert.equal(page.totalItems, 2);
  assert.deepEqual(page.items.map((p) => p.title), ["Beta", "Gamma"]);
  assert.equal(page.items[0].expand.author.name, "SDK User");
});

await step("full list and first item", async () => {
  const all = await pb.collection("posts").getFullList({ sort: "title", batch: 2 });
  assert.deepEqual(all.map((p) => p.title), ["Alpha", "Beta", "Gamma"]);
  const first = await pb.collection("posts").getFirstListItem('title = "Gamma"');
  assert.equal(first.views, 8);
  await assert.rejects(pb.collection("posts").getFirstListItem('title = "Nope"'), (e) => e.status === 404);
});

await step("fields", async () => {
  const page = await pb.collection("posts").getList(1, 1, { sort: "title", fields: "id,title" });
  assert.deepEqual(Object.keys(page.items[0]).sort(), ["id", "title"]);
});

await step("view and update", async () => {
  const updated = await pb.collection("posts").update(posts[0].id, { title: "Alpha 2", views: 4 });
  assert.equal(updated.title, "Alpha 2");
  const viewed = await pb.collection("posts").getOne(posts[0].id, { expand: "author" });
  assert.equal(viewed.views, 4);
  assert.equal(viewed.expand.author.id, me.id);
});

await step("delete", async () => {
  await pb.collection("posts").delete(posts[1].id);
  await assert.rejects(pb.collection("posts").getOne(posts[1].id), (e) => e.status === 404);
});

await step("upload and download a file", async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const withCover = await pb.collection("posts").create({
    title: "Illustrated",
    published: true,
    author: me.id,
    cover: new File([png], "cover.png", { type: "image/png" }),
  });
  assert.match(withCover.cover, /^cover_[a-z0-9]{10}\.png$/);
  const res = await fetch(pb.files.getURL(withCover, withCover.cover));
  assert.equal(res.status, 200);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), png);
  await assert.rejects(
    pb.collection("posts").create({ title: "Wrong", author: me.id, cover: new File(["text"], "x.txt", { type: "text/plain" }) }),
    (e) => e.status === 400 && e.response.data.cover.code === "validation_invalid_mime_type",
  );
  await pb.collection("posts").delete(withCover.id);
});

await step("batch with and without files", async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 7]);
  // Several creates in one batch, one with a file: the SDK sends multipart, the file as
  // `requests.1.cover` and the requests in `@jsonPayload`.
  const batch = pb.createBatch();
  batch.collection("posts").create({ title: "Batch one", published: true, author: me.id });
  batch.collection("posts").create({
    title: "Batch two",
    published: true,
    author: me.id,
    cover: new File([png], "batch.png", { type: "image/png" }),
  });
  batch.collection("posts").create({ title: "Batch three", published: true, author: me.id });
  const created = await batch.send();
  assert.deepEqual(created.map((r) => r.status), [200, 200, 200]);
  assert.deepEqual(created.map((r) => r.body.title), ["Batch one", "Batch two", "Batch three"]);
  const two = created[1].body;
  assert.match(two.cover, /^batch_[a-z0-9]{10}\.png$/);
  assert.equal(created[0].body.cover, "");
  const res = await fetch(pb.files.getURL(two, two.cover));
  assert.equal(res.status, 200);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), png);
  // Without files: an update and deletes.
  const plain = pb.createBatch();
  plain.collection("posts").update(created[0].body.id, { title: "Batch one!" });
  plain.collection("posts").delete(created[1].body.id);
  plain.collection("posts").delete(created[2].body.id);
  const done = await plain.send();
  assert.deepEqual(done.map((r) => r.status), [200, 204, 204]);
  assert.equal(done[0].body.title, "Batch one!");
  assert.equal((await fetch(pb.files.getURL(two, two.cover))).status, 404, "a deleted record's file is gone");
  // All or nothing: the second request fails, the first (with its file) is not kept.
  const failing = pb.createBatch();
  failing.collection("posts").create({
    title: "Never",
    published: true,
    author: me.id,
    cover: new File([png], "never.png", { type: "image/png" }),
  });
  failing.collection("posts").create({ title: "", author: me.id });
  await assert.rejects(failing.send(), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.response.data.requests["1"].response.data.title.code, "validation_required");
    return true;
  });
  const never = await pb.collection("posts").getList(1, 1, { filter: 'title = "Never"' });
  assert.equal(never.totalItems, 0);
  await pb.collection("posts").delete(created[0].body.id);
});

await step("refresh", async () => {
  const before = pb.authStore.token;
  const refreshed = await pb.collection("users").authRefresh();
  assert.equal(refreshed.record.id, me.id);
  assert.ok(pb.authStore.isValid);
  assert.equal(typeof before, "string");
});

await step("guests see what the rules allow", async () => {
  const guest = new PocketBase(base);
  const page = await guest.collection("posts").getList(1, 10);
  assert.equal(page.totalItems, 2, "published posts");
  await assert.rejects(guest.collection("posts").create({ title: "x" }), (e) => e.status === 400 || e.status === 403);
  pb.authStore.clear();
  assert.equal(pb.authStore.isValid, false);
});

console.log("all SDK checks passed");
