// The official PocketBase JavaScript SDK's MFA flow against a Socle app whose `users`
// collection has OTP and MFA on: authWithPassword → 401 with mfaId → requestOTP → the
// emailed code → authWithOTP(otpId, code, { mfaId }).
// Usage: SOCLE_APP_URL=... SOCLE_MAIL_DIR=... SOCLE_USER_EMAIL=... SOCLE_USER_PASSWORD=... node mfa.mjs

import PocketBase from "pocketbase";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const { SOCLE_APP_URL: base, SOCLE_MAIL_DIR: mailDir, SOCLE_USER_EMAIL: email, SOCLE_USER_PASSWORD: password } =
  process.env;
if (!base || !mailDir || !email || !password) {
  console.error("SOCLE_APP_URL, SOCLE_MAIL_DIR, SOCLE_USER_EMAIL and SOCLE_USER_PASSWORD must be set");
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

// The OTP of the newest "sign-in code" email to `to` (the server writes .eml files in tests).
function decode(raw) {
  let text = raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
  for (const block of text.split(/\r?\n\r?\n/)) {
    const joined = block.split(/\r?\n/).filter((l) => !l.startsWith("--")).join("");
    if (joined.length > 40 && /^[A-Za-z0-9+/=]+$/.test(joined)) {
      text += "\n" + Buffer.from(joined, "base64").toString("utf8");
    }
  }
  return text;
}

async function newestOtp(to, after) {
  for (let i = 0; i < 300; i++) {
    let files = [];
    try {
      files = readdirSync(mailDir).filter((f) => f.endsWith(".eml")).sort();
    } catch {}
    const matching = files
      .map((f) => readFileSync(join(mailDir, f), "utf8"))
      .filter((raw) => raw.includes(`To: ${to}`) && /Subject: .*sign-in code/.test(raw));
    if (matching.length > after) {
      const code = decode(matching[matching.length - 1]).match(/OTP: (\d+)/)?.[1];
      if (code) return code;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no OTP email to ${to}`);
}

let mfaId;
let otpId;

await step("listAuthMethods reports password, OTP and MFA", async () => {
  const methods = await pb.collection("users").listAuthMethods();
  assert.deepEqual(methods.password, { enabled: true, identityFields: ["email"] });
  assert.deepEqual(methods.otp, { enabled: true, duration: 300 });
  assert.deepEqual(methods.mfa, { enabled: true, duration: 600 });
  assert.equal(methods.oauth2.enabled, false);
});

await step("authWithPassword answers 401 with an mfaId", async () => {
  try {
    await pb.collection("users").authWithPassword(email, password);
    assert.fail("signed in with one factor");
  } catch (err) {
    assert.equal(err.status, 401);
    mfaId = err.response?.mfaId;
    assert.ok(mfaId, `mfaId in ${JSON.stringify(err.response)}`);
  }
  assert.equal(pb.authStore.isValid, false);
});

await step("requestOTP emails a code", async () => {
  const result = await pb.collection("users").requestOTP(email);
  otpId = result.otpId;
  assert.ok(otpId);
});

await step("a wrong code is refused", async () => {
  await assert.rejects(pb.collection("users").authWithOTP(otpId, "00000000x", { mfaId }), (e) => e.status === 400);
});

await step("authWithOTP with the mfaId completes the sign-in", async () => {
  const code = await newestOtp(email, 0);
  assert.equal(code.length, 8);
  const auth = await pb.collection("users").authWithOTP(otpId, code, { mfaId });
  assert.equal(auth.record.email, email);
  assert.ok(pb.authStore.isValid);
  assert.equal(pb.authStore.record.id, auth.record.id);
});

await step("the signed-in client refreshes its token", async () => {
  const refreshed = await pb.collection("users").authRefresh();
  assert.equal(refreshed.record.email, email);
});

console.log("all MFA checks passed");
