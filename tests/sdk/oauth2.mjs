// The official PocketBase JavaScript SDK's OAuth2 code flow against a Socle app whose `users`
// collection names a local OpenID Provider: listAuthMethods → the provider's sign-in (played
// by its test route) → authWithOAuth2Code(provider, code, codeVerifier, redirectUrl, createData).
// Usage: SOCLE_APP_URL=... SOCLE_IDP_URL=... SOCLE_REDIRECT_URL=... node oauth2.mjs

import PocketBase from "pocketbase";
import assert from "node:assert/strict";

const { SOCLE_APP_URL: base, SOCLE_IDP_URL: idp, SOCLE_REDIRECT_URL: redirectUrl } = process.env;
if (!base || !idp || !redirectUrl) {
  console.error("SOCLE_APP_URL, SOCLE_IDP_URL and SOCLE_REDIRECT_URL must be set");
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

async function codeFor(provider, login) {
  const url = provider.authURL + encodeURIComponent(redirectUrl);
  const answer = await (await fetch(`${idp}/test/sign-in?url=${encodeURIComponent(url)}&login=${encodeURIComponent(login)}`)).json();
  const back = new URL(answer.location);
  assert.equal(back.searchParams.get("state"), provider.state);
  return back.searchParams.get("code");
}

let provider;
await step("listAuthMethods lists the provider with PKCE", async () => {
  const methods = await pb.collection("users").listAuthMethods();
  assert.equal(methods.oauth2.enabled, true);
  provider = methods.oauth2.providers.find((p) => p.name === "oidc");
  assert.ok(provider, JSON.stringify(methods.oauth2));
  assert.equal(provider.codeChallengeMethod, "S256");
  assert.ok(provider.codeVerifier.length >= 43);
});

await step("authWithOAuth2Code creates and signs in the user", async () => {
  const code = await codeFor(provider, "sdk-oauth@apps.example");
  const auth = await pb
    .collection("users")
    .authWithOAuth2Code("oidc", code, provider.codeVerifier, redirectUrl, { name: "From SDK" });
  assert.equal(auth.record.email, "sdk-oauth@apps.example");
  assert.equal(auth.record.name, "From SDK");
  assert.equal(auth.meta.isNew, true);
  assert.ok(pb.authStore.isValid);
});

await step("a second sign-in finds the same user", async () => {
  const methods = await pb.collection("users").listAuthMethods();
  const again = methods.oauth2.providers.find((p) => p.name === "oidc");
  const code = await codeFor(again, "sdk-oauth@apps.example");
  const id = pb.authStore.record.id;
  const auth = await pb.collection("users").authWithOAuth2Code("oidc", code, again.codeVerifier, redirectUrl);
  assert.equal(auth.record.id, id);
  assert.equal(auth.meta.isNew, false);
});

console.log("all OAuth2 checks passed");
