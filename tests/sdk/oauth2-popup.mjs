// The official PocketBase JavaScript SDK's all-in-one OAuth2 flow against a Socle app:
// authWithOAuth2({provider, urlCallback}) subscribes to the realtime `@oauth2` topic, the
// "browser" (the provider's test route, then a plain GET of the redirect) goes through the
// provider and lands on the app's /api/oauth2-redirect, which hands the code to the SDK.
// Usage: SOCLE_APP_URL=... SOCLE_IDP_URL=... node oauth2-popup.mjs

import PocketBase from "pocketbase";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";

globalThis.EventSource = EventSource;

const { SOCLE_APP_URL: base, SOCLE_IDP_URL: idp } = process.env;
if (!base || !idp) {
  console.error("SOCLE_APP_URL and SOCLE_IDP_URL must be set");
  process.exit(2);
}

const pb = new PocketBase(base);
pb.autoCancellation(false);

try {
  let landed;
  const auth = await pb.collection("users").authWithOAuth2({
    provider: "oidc",
    createData: { name: "Popup" },
    urlCallback: async (url) => {
      const answer = await (
        await fetch(`${idp}/test/sign-in?url=${encodeURIComponent(url)}&login=${encodeURIComponent("popup@apps.example")}`)
      ).json();
      // The browser follows the provider's redirect to the app.
      landed = await fetch(answer.location);
    },
  });
  assert.equal(landed.status, 200);
  assert.match(await landed.text(), /Sign-in complete/);
  assert.equal(auth.record.email, "popup@apps.example");
  assert.equal(auth.record.name, "Popup");
  assert.equal(auth.meta.isNew, true);
  assert.ok(pb.authStore.isValid);
  console.log("all popup OAuth2 checks passed");
  process.exit(0);
} catch (e) {
  console.error(e?.response ? JSON.stringify(e.response) : e);
  process.exit(1);
}
