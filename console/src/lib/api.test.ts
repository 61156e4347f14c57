import { describe, expect, it } from 'vitest';
import { Api, ApiError, MFA_REQUIRED, MfaRequiredError, errorFrom, memoryStore, queryString, recordPayload } from './api';

type Call = { url: string; method: string; headers: Record<string, string>; body: unknown };

/** A fetch that answers from a list of [status, body] and records the calls. */
function fakeFetch(answers: Array<[number, unknown]>) {
  const calls: Call[] = [];
  const fetcher = async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    });
    const [status, body] = answers.shift() ?? [500, { detail: 'no answer left' }];
    return new Response(body === null ? null : JSON.stringify(body), { status });
  };
  return { calls, fetcher: fetcher as typeof fetch };
}

const tokens = (access: string, refresh: string) => ({
  access_token: access,
  refresh_token: refresh,
  token_type: 'Bearer',
  expires_in: 900,
  user: { id: 'u', email: 'a@b.c', first_name: 'A', last_name: 'B', role: 'user', status: 'active' },
});

describe('errorFrom', () => {
  it('reads an RFC 9457 problem with field errors', () => {
    const error = errorFrom(422, {
      type: 'about:blank',
      status: 422,
      detail: 'the request has invalid fields',
      errors: [
        { field: 'password', code: 'weak_password', message: 'too short' },
        { field: 'password', code: 'weak_password', message: 'needs a digit' },
        { field: 'fields.1.values', code: 'required', message: 'needs values' },
      ],
      request_id: 'r1',
    });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.message).toBe('the request has invalid fields');
    expect(error.fields).toEqual({ password: ['too short', 'needs a digit'], 'fields.1.values': ['needs values'] });
    expect(error.requestId).toBe('r1');
  });

  it("reads PocketBase's error shape", () => {
    const error = errorFrom(400, {
      code: 400,
      message: 'Failed to create record.',
      data: { title: { code: 'validation_required', message: 'Missing required value.' } },
    });
    expect(error.message).toBe('Failed to create record.');
    expect(error.fields).toEqual({ title: ['Missing required value.'] });
  });

  it('reads the challenge of an mfa-required problem', () => {
    const error = errorFrom(401, {
      type: MFA_REQUIRED,
      title: 'Unauthorized',
      status: 401,
      detail: 'a second factor is required to sign in',
      mfa_token: 'challenge-1',
      methods: ['totp', 'recovery_code'],
      expires_in: 300,
    });
    expect(error).toBeInstanceOf(MfaRequiredError);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(401);
    expect(error.message).toBe('a second factor is required to sign in');
    expect((error as MfaRequiredError).challenge).toEqual({
      mfa_token: 'challenge-1',
      methods: ['totp', 'recovery_code'],
      expires_in: 300,
    });
    // A plain 401 carries no challenge.
    expect(errorFrom(401, { type: 'about:blank', status: 401, detail: 'invalid email or password' })).not.toBeInstanceOf(
      MfaRequiredError,
    );
  });

  it('has a sentence for bodies that are not problems', () => {
    expect(errorFrom(502, 'Bad gateway').message).toBe('The server answered 502.');
  });
});

describe('queryString', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(queryString({ filter: "title ~ 'a&b'", sort: '', page: 2, x: undefined })).toBe(
      '?filter=title+%7E+%27a%26b%27&page=2',
    );
    expect(queryString({})).toBe('');
  });
});

describe('Api', () => {
  it('keeps the tokens of a sign-in and sends the access token', async () => {
    const store = memoryStore();
    const { calls, fetcher } = fakeFetch([
      [200, tokens('a1', 'r1')],
      [200, { items: [], page: 1, per_page: 100, total_items: 0, total_pages: 0 }],
    ]);
    const api = new Api(store, fetcher);
    await api.login('a@b.c', 'pw');
    expect(store.load()).toEqual({ access: 'a1', refresh: 'r1' });
    expect(calls[0]?.headers.authorization).toBeUndefined();
    await api.organizations();
    expect(calls[1]?.headers.authorization).toBe('Bearer a1');
    expect(calls[1]?.url).toBe('/api/v1/foundation/organizations?per_page=100');
  });

  it('calls the emails\' endpoints: anonymous ones without a token, the invitation with it', async () => {
    const store = memoryStore({ access: 'a1', refresh: 'r1' });
    const { calls, fetcher } = fakeFetch([
      [422, { status: 422, detail: 'invalid request', errors: [{ field: 'token', message: 'the link is invalid or has expired' }] }],
      [202, { message: 'on its way' }],
      [200, { message: 'password changed' }],
      [200, { organization_id: 'o1' }],
    ]);
    const api = new Api(store, fetcher);
    const refused = await api.activate('t0').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).fields).toEqual({ token: ['the link is invalid or has expired'] });
    await api.requestPasswordReset('a@b.c');
    await api.resetPassword('t1', 'New-Password-12');
    expect(await api.acceptInvitation('t2')).toEqual({ organization_id: 'o1' });
    expect(calls.map((c) => [c.method, c.url, c.body, c.headers.authorization])).toEqual([
      ['POST', '/api/v1/foundation/auth/activate', { token: 't0' }, undefined],
      ['POST', '/api/v1/foundation/auth/request-password-reset', { email: 'a@b.c' }, undefined],
      ['POST', '/api/v1/foundation/auth/reset-password', { token: 't1', password: 'New-Password-12' }, undefined],
      ['POST', '/api/v1/foundation/organizations/invitations/accept', { token: 't2' }, 'Bearer a1'],
    ]);
  });

  it('refreshes once on 401 and repeats the call with the new token', async () => {
    const store = memoryStore({ access: 'old', refresh: 'r1' });
    const { calls, fetcher } = fakeFetch([
      [401, { status: 401, detail: 'the access token has expired' }],
      [200, tokens('new', 'r2')],
      [200, { id: 'p1' }],
    ]);
    const api = new Api(store, fetcher);
    const project = await api.project('p1');
    expect(project).toEqual({ id: 'p1' });
    expect(calls.map((c) => c.url)).toEqual([
      '/api/v1/studio/projects/p1',
      '/api/v1/foundation/auth/refresh',
      '/api/v1/studio/projects/p1',
    ]);
    expect(calls[1]?.body).toEqual({ refresh_token: 'r1' });
    expect(calls[2]?.headers.authorization).toBe('Bearer new');
    expect(store.load()).toEqual({ access: 'new', refresh: 'r2' });
  });

  it('shares one refresh between concurrent calls', async () => {
    const store = memoryStore({ access: 'old', refresh: 'r1' });
    const { calls, fetcher } = fakeFetch([
      [401, { detail: 'expired' }],
      [401, { detail: 'expired' }],
      [200, tokens('new', 'r2')],
      [200, []],
      [200, []],
    ]);
    const api = new Api(store, fetcher);
    await Promise.all([api.collections('p'), api.apps('o')]);
    expect(calls.filter((c) => c.url.endsWith('/auth/refresh'))).toHaveLength(1);
  });

  it('ends the session when the refresh is refused', async () => {
    const store = memoryStore({ access: 'old', refresh: 'reused' });
    const { fetcher } = fakeFetch([
      [401, { detail: 'expired' }],
      [401, { detail: 'the refresh token was revoked' }],
    ]);
    const api = new Api(store, fetcher);
    const seen: boolean[] = [];
    api.onSessionChange((signedIn) => seen.push(signedIn));
    await expect(api.organizations()).rejects.toMatchObject({ status: 401 });
    expect(store.load()).toBeNull();
    expect(seen).toEqual([false]);
  });

  it('does not refresh for a refused sign-in', async () => {
    const store = memoryStore();
    const { calls, fetcher } = fakeFetch([[401, { detail: 'invalid email or password' }]]);
    const api = new Api(store, fetcher);
    await expect(api.login('a@b.c', 'bad')).rejects.toThrow('invalid email or password');
    expect(calls).toHaveLength(1);
  });

  it('finishes a sign-in that needs a second factor and keeps its tokens', async () => {
    const store = memoryStore();
    const { calls, fetcher } = fakeFetch([
      [401, { type: MFA_REQUIRED, status: 401, detail: 'a second factor is required', mfa_token: 'm1', methods: ['totp'], expires_in: 300 }],
      [200, tokens('a2', 'r2')],
    ]);
    const api = new Api(store, fetcher);
    const seen: boolean[] = [];
    api.onSessionChange((signedIn) => seen.push(signedIn));
    const refused = await api.login('a@b.c', 'pw').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MfaRequiredError);
    expect(store.load()).toBeNull();
    const answer = await api.completeMfa((refused as MfaRequiredError).challenge.mfa_token, '123456');
    expect(answer.user.email).toBe('a@b.c');
    expect(store.load()).toEqual({ access: 'a2', refresh: 'r2' });
    expect(seen).toEqual([true]);
    expect(calls.map((c) => [c.method, c.url, c.body, c.headers.authorization])).toEqual([
      ['POST', '/api/v1/foundation/auth/login', { email: 'a@b.c', password: 'pw' }, undefined],
      ['POST', '/api/v1/foundation/auth/mfa', { mfa_token: 'm1', code: '123456' }, undefined],
    ]);
  });

  it('signs in with an emailed code', async () => {
    const store = memoryStore();
    const { calls, fetcher } = fakeFetch([
      [202, { otp_id: 'o1' }],
      [401, { type: 'about:blank', status: 401, detail: 'the code is wrong or has expired' }],
      [200, tokens('a3', 'r3')],
    ]);
    const api = new Api(store, fetcher);
    const { otp_id } = await api.requestSignInCode('a@b.c');
    await expect(api.verifySignInCode(otp_id, '000000')).rejects.toMatchObject({ status: 401 });
    await api.verifySignInCode(otp_id, '424242');
    expect(store.load()).toEqual({ access: 'a3', refresh: 'r3' });
    expect(calls.map((c) => [c.url, c.body, c.headers.authorization])).toEqual([
      ['/api/v1/foundation/auth/sign-in-code', { email: 'a@b.c' }, undefined],
      ['/api/v1/foundation/auth/sign-in-code/verify', { otp_id: 'o1', code: '000000' }, undefined],
      ['/api/v1/foundation/auth/sign-in-code/verify', { otp_id: 'o1', code: '424242' }, undefined],
    ]);
  });

  it('signs in with an OAuth2 provider', async () => {
    const store = memoryStore();
    const { calls, fetcher } = fakeFetch([
      [200, [{ name: 'github', display_name: 'GitHub' }]],
      [200, { authorization_url: 'https://github.com/login/oauth/authorize?state=s1', state: 's1' }],
      [401, { type: MFA_REQUIRED, status: 401, detail: 'a second factor is required', mfa_token: 'm1', methods: ['totp'], expires_in: 300 }],
      [403, { type: 'about:blank', status: 403, detail: 'the account is disabled' }],
      [200, tokens('a4', 'r4')],
    ]);
    const api = new Api(store, fetcher);
    const seen: boolean[] = [];
    api.onSessionChange((signedIn) => seen.push(signedIn));
    expect(await api.oauthProviders()).toEqual([{ name: 'github', display_name: 'GitHub' }]);
    expect((await api.startOAuth('github')).state).toBe('s1');
    const challenged = await api.finishOAuth('github', 'c1', 's1').catch((e: unknown) => e);
    expect(challenged).toBeInstanceOf(MfaRequiredError);
    expect((challenged as MfaRequiredError).challenge.mfa_token).toBe('m1');
    await expect(api.finishOAuth('github', 'c2', 's2')).rejects.toMatchObject({ status: 403 });
    expect(store.load()).toBeNull();
    const answer = await api.finishOAuth('git hub', 'c3', 's3');
    expect(answer.access_token).toBe('a4');
    expect(store.load()).toEqual({ access: 'a4', refresh: 'r4' });
    expect(seen).toEqual([true]);
    const oauth = '/api/v1/foundation/auth/oauth2';
    expect(calls.map((c) => [c.method, c.url, c.body, c.headers.authorization])).toEqual([
      ['GET', `${oauth}/providers`, undefined, undefined],
      ['POST', `${oauth}/github/start`, {}, undefined],
      ['POST', `${oauth}/github/callback`, { code: 'c1', state: 's1' }, undefined],
      ['POST', `${oauth}/github/callback`, { code: 'c2', state: 's2' }, undefined],
      ['POST', `${oauth}/git%20hub/callback`, { code: 'c3', state: 's3' }, undefined],
    ]);
  });

  it("lists and unlinks the account's sign-in providers", async () => {
    const { calls, fetcher } = fakeFetch([
      [200, [{ provider: 'github', email: 'a@b.c', created_at: '2024-01-01T00:00:00Z' }]],
      [409, { type: 'about:blank', status: 409, detail: 'this provider is the only way to sign in to the account' }],
      [204, null],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect(await api.identities()).toEqual([{ provider: 'github', email: 'a@b.c', created_at: '2024-01-01T00:00:00Z' }]);
    const refused = await api.unlinkIdentity('github').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(409);
    await api.unlinkIdentity('git/hub');
    const me = '/api/v1/foundation/users/me';
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${me}/identities`, undefined],
      ['DELETE', `${me}/identities/github`, undefined],
      ['DELETE', `${me}/identities/git%2Fhub`, undefined],
    ]);
    expect(calls.every((c) => c.headers.authorization === 'Bearer a')).toBe(true);
  });

  it("calls the account's security endpoints with the token", async () => {
    const { calls, fetcher } = fakeFetch([
      [200, { totp_enabled: false, totp_pending: false, recovery_codes_left: 0 }],
      [201, { secret: 'S', otpauth_uri: 'otpauth://totp/x', qr_svg: '<svg/>' }],
      [200, { recovery_codes: ['a'] }],
      [200, { recovery_codes: ['b'] }],
      [204, null],
      [200, []],
      [204, null],
      [200, { revoked: 2 }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.mfaStatus();
    await api.startTotp();
    expect(await api.confirmTotp('123456')).toEqual({ recovery_codes: ['a'] });
    await api.regenerateRecoveryCodes('654321');
    await api.disableTotp('pw', 'abcde-fghjk');
    await api.sessions();
    await api.revokeSession('s 1');
    expect(await api.revokeOtherSessions()).toEqual({ revoked: 2 });
    const me = '/api/v1/foundation/users/me';
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${me}/mfa`, undefined],
      ['POST', `${me}/mfa/totp`, {}],
      ['POST', `${me}/mfa/totp/confirm`, { code: '123456' }],
      ['POST', `${me}/mfa/recovery-codes`, { code: '654321' }],
      ['POST', `${me}/mfa/totp/disable`, { password: 'pw', code: 'abcde-fghjk' }],
      ['GET', `${me}/sessions`, undefined],
      ['DELETE', `${me}/sessions/s%201`, undefined],
      ['POST', `${me}/sessions/revoke-others`, undefined],
    ]);
    expect(calls.every((c) => c.headers.authorization === 'Bearer a')).toBe(true);
  });

  it("manages an organization's members and invitations", async () => {
    const { calls, fetcher } = fakeFetch([
      [200, { items: [], page: 1, per_page: 200, total_items: 0, total_pages: 0 }],
      [204, null],
      [204, null],
      [204, null],
      [200, []],
      [201, { id: 'i1', email: 'b@c.d', role: 'ADMIN' }],
      [204, null],
      [409, { status: 409, detail: 'this person is already a member' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.members('o 1');
    await api.changeMemberRole('o1', 'u 2', 'ADMIN');
    await api.removeMember('o1', 'u2');
    await api.leaveOrganization('o1');
    await api.invitations('o1');
    expect(await api.invite('o1', { email: 'b@c.d', role: 'ADMIN' })).toMatchObject({ id: 'i1' });
    await api.revokeInvitation('o1', 'i/1');
    const refused = await api.invite('o1', { email: 'a@b.c' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(409);
    const orgs = '/api/v1/foundation/organizations';
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${orgs}/o%201/members?per_page=200`, undefined],
      ['PATCH', `${orgs}/o1/members/u%202`, { role: 'ADMIN' }],
      ['DELETE', `${orgs}/o1/members/u2`, undefined],
      ['POST', `${orgs}/o1/leave`, undefined],
      ['GET', `${orgs}/o1/invitations`, undefined],
      ['POST', `${orgs}/o1/invitations`, { email: 'b@c.d', role: 'ADMIN' }],
      ['DELETE', `${orgs}/o1/invitations/i%2F1`, undefined],
      ['POST', `${orgs}/o1/invitations`, { email: 'a@b.c' }],
    ]);
    expect(calls.every((c) => c.headers.authorization === 'Bearer a')).toBe(true);
  });

  it("manages an organization's API keys", async () => {
    const { calls, fetcher } = fakeFetch([
      [200, []],
      [201, { id: 'k1', name: 'CI', prefix: 'sk_abc', role: 'MEMBER', secret: 'sk_abc_secret' }],
      [422, { status: 422, detail: 'invalid request', errors: [{ field: 'expires_at', message: 'expires_at must be in the future' }] }],
      [204, null],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.apiKeys('o 1');
    const created = await api.createApiKey({ organization_id: 'o1', name: 'CI', role: 'MEMBER' });
    expect(created.secret).toBe('sk_abc_secret');
    const refused = await api
      .createApiKey({ organization_id: 'o1', name: 'Old', expires_at: '2000-01-01T00:00:00.000Z' })
      .catch((e: unknown) => e);
    expect((refused as ApiError).fields).toEqual({ expires_at: ['expires_at must be in the future'] });
    await api.revokeApiKey('k 1');
    const keys = '/api/v1/foundation/api-keys';
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${keys}?organization_id=o+1`, undefined],
      ['POST', keys, { organization_id: 'o1', name: 'CI', role: 'MEMBER' }],
      ['POST', keys, { organization_id: 'o1', name: 'Old', expires_at: '2000-01-01T00:00:00.000Z' }],
      ['DELETE', `${keys}/k%201`, undefined],
    ]);
    expect(calls.every((c) => c.headers.authorization === 'Bearer a')).toBe(true);
  });

  it("manages an organization's billing", async () => {
    const { calls, fetcher } = fakeFetch([
      [200, []],
      [200, { organization_id: 'o1', period: 'month' }],
      [200, { subscription: {}, payment: null, checkout_url: 'https://pay.example/c' }],
      [409, { status: 409, detail: 'already on this plan' }],
      [200, { organization_id: 'o1', cancel_at_period_end: true }],
      [200, { items: [], total_items: 0 }],
      [200, { items: [], total_items: 0 }],
      [200, { pdf: true }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.plans();
    await api.billing('o 1');
    const input = { organization_id: 'o1', plan: 'pro', period: 'year' as const, success_url: 'https://x/ok', cancel_url: 'https://x/no' };
    const result = await api.subscribePlan(input);
    expect(result.checkout_url).toBe('https://pay.example/c');
    const refused = await api.subscribePlan(input).catch((e: unknown) => e);
    expect((refused as ApiError).status).toBe(409);
    await api.cancelPlan('o1');
    await api.payments('o1');
    await api.invoices('o1');
    const pdf = await api.invoicePdf('i 1');
    expect(pdf).toBeInstanceOf(Blob);
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', '/api/v1/billing/plans', undefined],
      ['GET', '/api/v1/billing/me?organization_id=o+1', undefined],
      ['POST', '/api/v1/billing/subscribe', input],
      ['POST', '/api/v1/billing/subscribe', input],
      ['POST', '/api/v1/billing/cancel', { organization_id: 'o1' }],
      ['GET', '/api/v1/payments?organization_id=o1&per_page=20', undefined],
      ['GET', '/api/v1/billing/invoices?organization_id=o1&per_page=20', undefined],
      ['GET', '/api/v1/billing/invoices/i%201/pdf', undefined],
    ]);
    expect(calls[7]?.headers.accept).toBe('application/pdf');
    expect(calls.every((c) => c.headers.authorization === 'Bearer a')).toBe(true);
  });

  it('reads the problem of a failed invoice PDF', async () => {
    const { fetcher } = fakeFetch([[404, { status: 404, detail: 'invoice not found' }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    const error = await api.invoicePdf('i1').catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).message).toBe('invoice not found');
  });

  it("reads an organization's daily usage", async () => {
    const { calls, fetcher } = fakeFetch([[200, [{ day: '2026-12-01', api_calls: 3, ai_tokens: 0, exports: 0 }]]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect(await api.billingUsage('o 1')).toHaveLength(1);
    expect(calls[0]?.url).toBe('/api/v1/billing/usage?organization_id=o+1&days=30');
  });

  it('administers invoices and reads the revenue', async () => {
    const { calls, fetcher } = fakeFetch([
      [200, { items: [], page: 2, per_page: 20, total_items: 0, total_pages: 0 }],
      [200, { id: 'i1', status: 'paid' }],
      [409, { status: 409, detail: 'a paid invoice cannot become void' }],
      [202, null],
      [200, []],
      [200, 'month,currency\r\n'],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.adminInvoices({ status: 'issued', kind: '', organization_id: 'o1', from: '2026-01-01', number: '' }, { page: 2, per_page: 20 });
    expect((await api.adminSetInvoiceStatus('i 1', 'paid')).status).toBe('paid');
    const refused = await api.adminSetInvoiceStatus('i1', 'void').catch((e: unknown) => e);
    expect((refused as ApiError).status).toBe(409);
    expect((refused as ApiError).message).toBe('a paid invoice cannot become void');
    await api.adminResendInvoice('i1');
    await api.revenue(6, true);
    expect(await api.revenueCsv(12)).toBe('month,currency\r\n');
    const base = '/api/v1/admin/billing';
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${base}/invoices?status=issued&organization_id=o1&from=2026-01-01&page=2&per_page=20`, undefined],
      ['PUT', `${base}/invoices/i%201/status`, { status: 'paid' }],
      ['PUT', `${base}/invoices/i1/status`, { status: 'void' }],
      ['POST', `${base}/invoices/i1/resend`, {}],
      ['GET', `${base}/revenue?months=6&test=true`, undefined],
      ['GET', `${base}/revenue?months=12&test=false&format=csv`, undefined],
    ]);
    expect(calls[5]?.headers.accept).toBe('text/csv');
  });

  it('uploads files as multipart with the values in @jsonPayload', async () => {
    const seen: Array<BodyInit | null | undefined> = [];
    const fetcher = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(init?.body);
      return new Response(JSON.stringify({ id: 'r1' }), { status: 200 });
    }) as typeof fetch;
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    const cover = new File(['png bytes'], 'cover.png', { type: 'image/png' });
    await api.createRecord('shop', 'books', { title: 'A' }, { cover: [cover], empty: [] });
    const form = seen[0];
    expect(form).toBeInstanceOf(FormData);
    expect((form as FormData).get('@jsonPayload')).toBe('{"title":"A"}');
    expect(((form as FormData).get('cover') as File).name).toBe('cover.png');
    expect((form as FormData).has('empty')).toBe(false);
    await api.updateRecord('shop', 'books', 'r1', { title: 'B' });
    expect(seen[1]).toBe('{"title":"B"}');
    expect(recordPayload({ a: 1 }, {})).toEqual({ body: { a: 1 } });
  });

  it("addresses an app's records in the PocketBase dialect", async () => {
    const { calls, fetcher } = fakeFetch([[200, { items: [] }], [204, null]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.records('shop', 'posts', { page: 2, perPage: 20, filter: 'n > 1', sort: '-created' });
    expect(calls[0]?.url).toBe('/apps/shop/api/collections/posts/records?page=2&perPage=20&filter=n+%3E+1&sort=-created');
    await api.deleteRecord('shop', 'posts', 'abc');
    expect(calls[1]).toMatchObject({ method: 'DELETE', url: '/apps/shop/api/collections/posts/records/abc' });
  });

  it("manages a project's pages and reads the page schema without a token", async () => {
    const { calls, fetcher } = fakeFetch([[200, []], [201, { id: 'p1' }], [200, { id: 'p1' }], [204, null], [200, { $defs: {} }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect(api.accessToken()).toBe('a');
    await api.pages('pr 1');
    expect(calls[0]).toMatchObject({ method: 'GET', url: '/api/v1/studio/projects/pr%201/pages' });
    await api.createPage('pr1', { name: 'Home' });
    expect(calls[1]).toMatchObject({ method: 'POST', url: '/api/v1/studio/projects/pr1/pages', body: { name: 'Home' } });
    await api.updatePage('pr1', 'p1', { name: 'Start' });
    expect(calls[2]).toMatchObject({ method: 'PATCH', url: '/api/v1/studio/projects/pr1/pages/p1', body: { name: 'Start' } });
    await api.deletePage('pr1', 'p1');
    expect(calls[3]).toMatchObject({ method: 'DELETE', url: '/api/v1/studio/projects/pr1/pages/p1' });
    await api.pageSchema();
    expect(calls[4]?.url).toBe('/api/v1/studio/schema/page.json');
    expect(calls[4]?.headers.authorization).toBeUndefined();
    expect(new Api(memoryStore()).accessToken()).toBeNull();
  });

  it("lists a page's editing sessions that changed it and reads one", async () => {
    const { calls, fetcher } = fakeFetch([[200, { items: [], total_items: 0 }], [200, { id: 'r1', base: null, updates: [] }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.pageReplays('p 1', { per_page: 200 }, { with_changes: true });
    expect(calls[0]?.url).toBe('/api/v1/collab/pages/p%201/replays?with_changes=true&per_page=200');
    expect((await api.pageReplay('p1', 'r1')).base).toBeNull();
    expect(calls[1]?.url).toBe('/api/v1/collab/pages/p1/replays/r1');
  });
});

describe('Api: platform administration', () => {
  const admin = '/api/v1/admin';

  it('lists, reads, edits and deletes accounts, and changes their role and status', async () => {
    const page = { items: [], page: 2, per_page: 25, total_items: 0, total_pages: 0 };
    const { calls, fetcher } = fakeFetch([
      [200, page],
      [200, page],
      [200, { total: 3, by_role: {}, by_status: {}, active_last_7_days: 1, signups_last_30_days: [], active_last_30_days: [] }],
      [200, { id: 'u 1' }],
      [422, { status: 422, detail: 'invalid request', errors: [{ field: 'email', message: 'another account uses this email' }] }],
      [200, { id: 'u 1', role: 'premium' }],
      [200, { id: 'u 1', status: 'deactivated' }],
      [403, { status: 403, detail: 'administrators cannot delete their own account here; use DELETE /users/me' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.adminUsers({ search: 'ann & co', role: 'premium', status: '' }, { page: 2, per_page: 25 });
    await api.adminUsers();
    expect((await api.adminUserStats()).total).toBe(3);
    await api.adminUser('u 1');
    const refused = await api.adminUpdateUser('u 1', { email: 'b@c.d' }).catch((e: unknown) => e);
    expect((refused as ApiError).fields).toEqual({ email: ['another account uses this email'] });
    expect((await api.adminSetUserRole('u 1', 'premium')).role).toBe('premium');
    expect((await api.adminSetUserStatus('u 1', 'deactivated')).status).toBe('deactivated');
    const forbidden = await api.adminDeleteUser('me').catch((e: unknown) => e);
    expect((forbidden as ApiError).status).toBe(403);
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${admin}/users?search=ann+%26+co&role=premium&page=2&per_page=25`, undefined],
      ['GET', `${admin}/users`, undefined],
      ['GET', `${admin}/users/stats`, undefined],
      ['GET', `${admin}/users/u%201`, undefined],
      ['PATCH', `${admin}/users/u%201`, { email: 'b@c.d' }],
      ['PUT', `${admin}/users/u%201/role`, { role: 'premium' }],
      ['PUT', `${admin}/users/u%201/status`, { status: 'deactivated' }],
      ['DELETE', `${admin}/users/me`, undefined],
    ]);
    expect(calls.every((c) => c.headers.authorization === 'Bearer a')).toBe(true);
  });

  it("lists an account's sessions and signs one or every device out", async () => {
    const session = { id: 's 1', user_agent: 'curl/8', ip: null, created_at: 'c', last_used_at: 'l', expires_at: 'e', current: false };
    const { calls, fetcher } = fakeFetch([
      [200, [session]],
      [204, null],
      [404, { status: 404, detail: 'session not found' }],
      [200, { revoked: 2 }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect(await api.adminUserSessions('u 1')).toEqual([session]);
    await api.adminRevokeUserSession('u 1', 's 1');
    const gone = await api.adminRevokeUserSession('u 1', 's 1').catch((e: unknown) => e);
    expect((gone as ApiError).status).toBe(404);
    expect((await api.adminRevokeUserSessions('u 1')).revoked).toBe(2);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['GET', `${admin}/users/u%201/sessions`],
      ['DELETE', `${admin}/users/u%201/sessions/s%201`],
      ['DELETE', `${admin}/users/u%201/sessions/s%201`],
      ['POST', `${admin}/users/u%201/sessions/revoke-all`],
    ]);
  });

  it('lists every organization and every project with filters', async () => {
    const page = { items: [], page: 1, per_page: 25, total_items: 0, total_pages: 0 };
    const { calls, fetcher } = fakeFetch([
      [200, page],
      [200, page],
      [422, { status: 422, detail: 'invalid request', errors: [{ field: 'search', message: 'search must be at most 100 characters' }] }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.adminOrganizations({ search: 'Acme & co', include_deleted: true }, { page: 2, per_page: 10 });
    await api.adminProjects({ organization_id: 'o 1' }, { page: 1, per_page: 25 });
    const refused = await api.adminProjects({ search: 'x'.repeat(101) }).catch((e: unknown) => e);
    expect((refused as ApiError).fields).toEqual({ search: ['search must be at most 100 characters'] });
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['GET', `${admin}/organizations?search=Acme+%26+co&include_deleted=true&page=2&per_page=10`],
      ['GET', `${admin}/projects?organization_id=o+1&page=1&per_page=25`],
      ['GET', `${admin}/projects?search=${'x'.repeat(101)}`],
    ]);
  });

  it('reads the audit log and its statistics with filters', async () => {
    const { calls, fetcher } = fakeFetch([
      [200, { items: [], page: 1, per_page: 50, total_items: 0, total_pages: 0 }],
      [200, { total: 0, last_24h: 0, by_severity: { LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 }, by_action: {} }],
      [403, { status: 403, detail: 'administrator role required' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    const filter = {
      severity: 'HIGH' as const,
      action: 'LOGIN_FAILED',
      actor_id: 'u1',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-02-01T00:00:00.000Z',
    };
    await api.auditLog(filter, { page: 1, per_page: 50 });
    await api.auditStats();
    const refused = await api.auditStats({ severity: '' }).catch((e: unknown) => e);
    expect((refused as ApiError).status).toBe(403);
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      [
        'GET',
        `${admin}/audit?severity=HIGH&action=LOGIN_FAILED&actor_id=u1&from=2026-01-01T00%3A00%3A00.000Z&to=2026-02-01T00%3A00%3A00.000Z&page=1&per_page=50`,
        undefined,
      ],
      ['GET', `${admin}/audit/stats`, undefined],
      ['GET', `${admin}/audit/stats`, undefined],
    ]);
  });

  it('exports the audit log as CSV text with the token', async () => {
    const csv = 'id,created_at,action\r\na1,2026-01-01T00:00:00Z,LOGIN_SUCCESS\r\n';
    const seen: Array<{ url: string; headers: Record<string, string> }> = [];
    const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push({ url: String(input), headers: (init?.headers ?? {}) as Record<string, string> });
      return new Response(csv, { status: 200, headers: { 'content-type': 'text/csv; charset=utf-8' } });
    }) as typeof fetch;
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect(await api.auditExportCsv({ severity: 'LOW', action: '' })).toBe(csv);
    expect(seen[0]?.url).toBe(`${admin}/audit/export?severity=LOW&format=csv`);
    expect(seen[0]?.headers.authorization).toBe('Bearer a');
  });

  it('steers the job queue', async () => {
    const { calls, fetcher } = fakeFetch([
      [200, [{ queue: 'default', counts: { queued: 1 } }]],
      [200, { items: [], page: 3, per_page: 20, total_items: 0, total_pages: 0 }],
      [200, { job: { id: 'j 1' }, payload: {}, result: null, timeout_secs: 60, idempotency_key: null, attempt_log: [] }],
      [200, { job: { id: 'j 1', status: 'queued' } }],
      [409, { status: 409, detail: 'a succeeded job cannot be discarded' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect(await api.jobQueues()).toEqual([{ queue: 'default', counts: { queued: 1 } }]);
    await api.jobs({ state: 'dead', queue: 'mail', kind: '' }, { page: 3 });
    await api.job('j 1');
    await api.retryJob('j 1');
    const refused = await api.discardJob('j 1').catch((e: unknown) => e);
    expect((refused as ApiError).status).toBe(409);
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${admin}/jobs/queues`, undefined],
      ['GET', `${admin}/jobs?state=dead&queue=mail&page=3`, undefined],
      ['GET', `${admin}/jobs/j%201`, undefined],
      ['POST', `${admin}/jobs/j%201/retry`, undefined],
      ['POST', `${admin}/jobs/j%201/discard`, undefined],
    ]);
  });

  it('lists emails and edits, resets and previews the email templates', async () => {
    const template = { key: 'auth.reset', description: '', variables: ['link'], subject: 'S', html: '<p>H</p>', text: 'T', customized: true, updated_at: null };
    const { calls, fetcher } = fakeFetch([
      [200, { items: [], page: 1, per_page: 20, total_items: 0, total_pages: 0 }],
      [200, { items: [], page: 2, per_page: 20, total_items: 0, total_pages: 0 }],
      [200, [template]],
      [200, template],
      [200, template],
      [200, { ...template, customized: false }],
      [200, { subject: 'S', html: '<p>H</p>', text: 'T' }],
      [200, { subject: 'S', html: '<p>H</p>', text: 'T' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.emails();
    await api.emails('failed', { page: 2 });
    await api.emailTemplates();
    await api.emailTemplate('auth.reset');
    await api.saveEmailTemplate('auth.reset', { subject: 'S', html: '<p>H</p>', text: 'T' });
    expect((await api.resetEmailTemplate('auth.reset')).customized).toBe(false);
    expect((await api.previewEmailTemplate('auth.reset')).text).toBe('T');
    await api.previewEmailTemplate('a/b', { link: 'https://x' });
    const templates = `${admin}/email-templates`;
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${admin}/emails`, undefined],
      ['GET', `${admin}/emails?status=failed&page=2`, undefined],
      ['GET', templates, undefined],
      ['GET', `${templates}/auth.reset`, undefined],
      ['PUT', `${templates}/auth.reset`, { subject: 'S', html: '<p>H</p>', text: 'T' }],
      ['DELETE', `${templates}/auth.reset`, undefined],
      ['POST', `${templates}/auth.reset/preview`, {}],
      ['POST', `${templates}/a%2Fb/preview`, { variables: { link: 'https://x' } }],
    ]);
  });
});

describe('Api: exports, sharing, workflows, the chat, refunds', () => {
  const v1 = '/api/v1';

  it('calls the endpoints of the new screens with the token', async () => {
    const page = { items: [], page: 1, per_page: 20, total_items: 0, total_pages: 0 };
    const { calls, fetcher } = fakeFetch([
      [200, []],
      [202, { id: 'e1' }],
      [200, []],
      [201, { id: 'l1', token: 'shr_x' }],
      [204, null],
      [200, []],
      [200, { version: 1, document: {} }],
      [200, { id: 'p1', version: 5 }],
      [200, page],
      [201, { id: 'w1' }],
      [200, { id: 'w1' }],
      [202, { id: 'x1' }],
      [200, page],
      [200, { id: 'x1', steps: [] }],
      [200, { $defs: {} }],
      [200, { id: 'pay1', status: 'partially_refunded' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.exports('p1');
    await api.createExport({ project_id: 'p1', format: 'html', options: {} });
    await api.shareLinks('p1');
    expect((await api.createShareLink('p1', { expires_in_secs: 3600 })).token).toBe('shr_x');
    await api.revokeShareLink('p1', 'l1');
    await api.pageVersions('p1', 'g1');
    await api.pageVersion('p1', 'g1', 1);
    await api.restorePageVersion('p1', 'g1', 2);
    await api.workflows('p1');
    await api.createWorkflow({ project_id: 'p1', name: 'W', definition: { trigger: { type: 'manual' }, steps: [] } });
    await api.updateWorkflow('w1', { enabled: false });
    await api.executeWorkflow('w1', { a: 1 });
    await api.executions('w1', { per_page: 20 });
    await api.execution('x1');
    await api.workflowSchema();
    await api.refundPayment('pay1', { amount: 100, reason: 'r' });
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${v1}/exports?project_id=p1`, undefined],
      ['POST', `${v1}/exports`, { project_id: 'p1', format: 'html', options: {} }],
      ['GET', `${v1}/studio/projects/p1/share-links`, undefined],
      ['POST', `${v1}/studio/projects/p1/share-links`, { expires_in_secs: 3600 }],
      ['DELETE', `${v1}/studio/projects/p1/share-links/l1`, undefined],
      ['GET', `${v1}/studio/projects/p1/pages/g1/versions`, undefined],
      ['GET', `${v1}/studio/projects/p1/pages/g1/versions/1`, undefined],
      ['POST', `${v1}/studio/projects/p1/pages/g1/versions/2/restore`, undefined],
      ['GET', `${v1}/automation/workflows?project_id=p1&per_page=200`, undefined],
      ['POST', `${v1}/automation/workflows`, { project_id: 'p1', name: 'W', definition: { trigger: { type: 'manual' }, steps: [] } }],
      ['PATCH', `${v1}/automation/workflows/w1`, { enabled: false }],
      ['POST', `${v1}/automation/workflows/w1/execute`, { input: { a: 1 } }],
      ['GET', `${v1}/automation/workflows/w1/executions?per_page=20`, undefined],
      ['GET', `${v1}/automation/executions/x1`, undefined],
      ['GET', `${v1}/automation/schema/workflow.json`, undefined],
      ['POST', `${v1}/payments/pay1/refund`, { amount: 100, reason: 'r' }],
    ]);
    expect(calls[14]?.headers.authorization).toBeUndefined();
    expect(calls[0]?.headers.authorization).toBe('Bearer a');
  });

  it('downloads a bundle and imports one as it is', async () => {
    const seen: Array<{ url: string; method: string; headers: Record<string, string>; body: unknown }> = [];
    const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push({ url: String(input), method: init?.method ?? 'GET', headers: (init?.headers ?? {}) as Record<string, string>, body: init?.body });
      if (String(input).includes('/export')) return new Response(new Uint8Array([0x1f, 0x8b, 1]), { status: 200 });
      return new Response(JSON.stringify({ id: 'p2' }), { status: 201 });
    }) as typeof fetch;
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    const bundle = await api.projectBundle('p1', { versions: true });
    expect(new Uint8Array(await bundle.arrayBuffer())).toEqual(new Uint8Array([0x1f, 0x8b, 1]));
    const file = new Blob([new Uint8Array([0x1f, 0x8b])], { type: 'application/gzip' });
    expect((await api.importProject('o1', file)).id).toBe('p2');
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/api/v1/studio/projects/p1/export?versions=true' });
    expect(seen[0]?.headers.accept).toBe('application/gzip');
    expect(seen[1]).toMatchObject({ method: 'POST', url: '/api/v1/studio/projects/import?organization_id=o1', body: file });
    expect(seen[1]?.headers['content-type']).toBe('application/gzip');
  });

  it("answers the chat's stream, or its refusal as an ApiError with the problem's code", async () => {
    const { fetcher } = fakeFetch([[503, { status: 503, detail: 'no AI provider is configured', code: 'NOT_CONFIGURED' }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    const refused = await api.chat('p1', [{ role: 'user', content: 'Hi' }]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(503);
    expect((refused as ApiError).code).toBe('NOT_CONFIGURED');
    const streaming = (async () => new Response('event: done\ndata: {}\n\n', { status: 200 })) as typeof fetch;
    const reader = await new Api(memoryStore({ access: 'a', refresh: 'r' }), streaming).chat('p1', [{ role: 'user', content: 'Hi' }]);
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: done');
  });
});

describe('Api: files, verification, the profile, workflow runs', () => {
  const v1 = '/api/v1';

  /** A fetch that records each call's body as it is (FormData included). */
  function rawFetch(answers: Array<[number, unknown]>) {
    const calls: Array<{ url: string; method: string; headers: Record<string, string>; body: unknown }> = [];
    const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(input), method: init?.method ?? 'GET', headers: (init?.headers ?? {}) as Record<string, string>, body: init?.body });
      const [status, body] = answers.shift() ?? [500, { detail: 'no answer left' }];
      return new Response(body === null ? null : typeof body === 'string' ? body : JSON.stringify(body), { status });
    }) as typeof fetch;
    return { calls, fetcher };
  }

  it("manages an organization's files", async () => {
    const page = { items: [], page: 1, per_page: 24, total_items: 0, total_pages: 0 };
    const { calls, fetcher } = rawFetch([
      [200, page],
      [201, { id: 'f1' }],
      [200, { id: 'f1' }],
      [200, { id: 'f1', public: true }],
      [204, null],
      [422, { status: 422, detail: 'invalid', errors: [{ field: 'file', code: 'invalid_type', message: 'not accepted' }] }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.files('o1', { q: 'logo', mime: 'image/' }, { page: 2, per_page: 24 });
    const logo = new File(['png'], 'logo.png', { type: 'image/png' });
    await api.uploadFile('o1', logo, true);
    await api.file('f1');
    await api.updateFile('f1', { public: true });
    await api.deleteFile('f1');
    const refused = await api.uploadFile('o1', logo).catch((e: unknown) => e);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['GET', `${v1}/files?organization_id=o1&q=logo&mime=image%2F&page=2&per_page=24`],
      ['POST', `${v1}/files`],
      ['GET', `${v1}/files/f1`],
      ['PATCH', `${v1}/files/f1`],
      ['DELETE', `${v1}/files/f1`],
      ['POST', `${v1}/files`],
    ]);
    const form = calls[1]?.body as FormData;
    expect(form).toBeInstanceOf(FormData);
    expect(form.get('organization_id')).toBe('o1');
    expect(form.get('public')).toBe('true');
    expect((form.get('file') as File).name).toBe('logo.png');
    expect((calls[5]?.body as FormData).get('public')).toBe('false');
    expect(calls[3]?.body).toBe('{"public":true}');
    expect((refused as ApiError).fields.file).toEqual(['not accepted']);
  });

  it("sends and reads an organization's verification, and reviews it as an administrator", async () => {
    const verification = { organization_id: 'o1', status: 'pending', documents: [] };
    const { calls, fetcher } = rawFetch([
      [200, verification],
      [201, verification],
      [200, 'png bytes'],
      [200, { items: [], page: 1, per_page: 10, total_items: 0, total_pages: 0 }],
      [200, verification],
      [200, { ...verification, status: 'rejected' }],
      [409, { status: 409, detail: 'the verification is approved, not waiting for review' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.verification('o1');
    const identity = new File(['png'], 'passport.png', { type: 'image/png' });
    await api.submitVerification('o1', {
      kind: 'individual',
      metadata: { identity: { document_type: 'passport', full_name: 'Ada', number: 'X1', country: 'GB', expires_on: '2031-01-01' } },
      documents: { identity },
    });
    const blob = await api.verificationDocument('o1', 'd1');
    expect(await blob.text()).toBe('png bytes');
    await api.adminVerifications('pending', { page: 2, per_page: 10 });
    await api.adminVerification('o1');
    await api.adminDecideVerification('o1', { decision: 'reject', reason: 'blurry' });
    const refused = await api.adminDecideVerification('o1', { decision: 'approve' }).catch((e: unknown) => e);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['GET', `${v1}/foundation/verification/o1`],
      ['POST', `${v1}/foundation/verification/o1`],
      ['GET', `${v1}/foundation/verification/o1/documents/d1`],
      ['GET', `${v1}/admin/verifications?status=pending&page=2&per_page=10`],
      ['GET', `${v1}/admin/verifications/o1`],
      ['POST', `${v1}/admin/verifications/o1/decision`],
      ['POST', `${v1}/admin/verifications/o1/decision`],
    ]);
    const form = calls[1]?.body as FormData;
    expect(form.get('kind')).toBe('individual');
    expect(JSON.parse(String(form.get('metadata')))).toEqual({
      identity: { document_type: 'passport', full_name: 'Ada', number: 'X1', country: 'GB', expires_on: '2031-01-01' },
    });
    expect((form.get('identity') as File).name).toBe('passport.png');
    expect(form.has('proof_of_address')).toBe(false);
    expect(calls[2]?.headers.authorization).toBe('Bearer a');
    expect(calls[5]?.body).toBe('{"decision":"reject","reason":"blurry"}');
    expect((refused as ApiError).status).toBe(409);
  });

  it("reads and changes the builder's profile and password", async () => {
    const { calls, fetcher } = rawFetch([
      [200, { id: 'u1', email: 'a@b.c' }],
      [200, { id: 'u1', first_name: 'Augusta' }],
      [200, { message: 'password changed' }],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.profile();
    await api.updateProfile({ first_name: 'Augusta' });
    await api.changePassword({ current_password: 'old', new_password: 'New-password-42' });
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${v1}/foundation/users/me`, undefined],
      ['PATCH', `${v1}/foundation/users/me`, '{"first_name":"Augusta"}'],
      ['POST', `${v1}/foundation/users/me/password`, '{"current_password":"old","new_password":"New-password-42"}'],
    ]);
  });

  it("cancels, retries and reruns executions, and lists a workflow's versions", async () => {
    const { calls, fetcher } = rawFetch([
      [200, { id: 'x1', status: 'cancelled' }],
      [202, { id: 'x1', status: 'queued' }],
      [202, { id: 'x2', rerun_of: 'x1' }],
      [200, [{ version: 2 }, { version: 1 }]],
    ]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect((await api.cancelExecution('x1')).status).toBe('cancelled');
    await api.retryExecution('x1');
    expect((await api.rerunExecution('x1')).rerun_of).toBe('x1');
    expect((await api.workflowVersions('w1')).map((v) => v.version)).toEqual([2, 1]);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['POST', `${v1}/automation/executions/x1/cancel`],
      ['POST', `${v1}/automation/executions/x1/retry`],
      ['POST', `${v1}/automation/executions/x1/rerun`],
      ['GET', `${v1}/automation/workflows/w1/versions`],
    ]);
  });
});

describe('Api: project trash, workflow secrets, record files and broadcasts', () => {
  const v1 = '/api/v1';

  it("moves projects to the trash, lists it, restores and duplicates them", async () => {
    const page = { items: [], page: 1, per_page: 100, total_items: 0, total_pages: 0 };
    const { calls, fetcher } = fakeFetch([[204, null], [200, page], [200, { id: 'p1' }], [201, { id: 'p2', name: 'Shop (copy)' }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.deleteProject('p 1');
    await api.deletedProjects('o1');
    await api.restoreProject('p1');
    expect((await api.duplicateProject('p1')).name).toBe('Shop (copy)');
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['DELETE', `${v1}/studio/projects/p%201`],
      ['GET', `${v1}/studio/projects?organization_id=o1&deleted=true&per_page=100`],
      ['POST', `${v1}/studio/projects/p1/restore`],
      ['POST', `${v1}/studio/projects/p1/duplicate`],
    ]);
  });

  it("lists, sets and deletes a project's workflow secrets", async () => {
    const info = { name: 'API_KEY', created_by: 'u', created_at: 't', updated_at: 't' };
    const { calls, fetcher } = fakeFetch([[200, [info]], [200, info], [204, null]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect((await api.secrets('p1')).map((s) => s.name)).toEqual(['API_KEY']);
    expect((await api.putSecret('p1', 'API_KEY', 'sk-1')).name).toBe('API_KEY');
    await api.deleteSecret('p1', 'API_KEY');
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['GET', `${v1}/automation/projects/p1/secrets`, undefined],
      ['PUT', `${v1}/automation/projects/p1/secrets/API_KEY`, { value: 'sk-1' }],
      ['DELETE', `${v1}/automation/projects/p1/secrets/API_KEY`, undefined],
    ]);
  });

  it('sends an administrator\'s notification to a user, a role or everyone', async () => {
    const { calls, fetcher } = fakeFetch([[202, { notified: 1, notification_id: 'n1' }], [202, { job_id: 'j1' }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect(await api.adminNotify({ user_id: 'u1', type: 'admin.message', title: 'Hi' })).toEqual({ notified: 1, notification_id: 'n1' });
    expect((await api.adminNotify({ everyone: true, type: 'admin.message', title: 'Hi', body: 'All', url: '/x' })).job_id).toBe('j1');
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', `${v1}/admin/notifications`, { user_id: 'u1', type: 'admin.message', title: 'Hi' }],
      ['POST', `${v1}/admin/notifications`, { everyone: true, type: 'admin.message', title: 'Hi', body: 'All', url: '/x' }],
    ]);
  });

  it('lists the notifications administrators sent, by page', async () => {
    const { calls, fetcher } = fakeFetch([[200, { items: [], page: 2, per_page: 10, total_items: 12, total_pages: 2 }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    expect((await api.adminSentNotifications({ page: 2, per_page: 10 })).total_items).toBe(12);
    expect(calls.map((c) => [c.method, c.url])).toEqual([['GET', `${v1}/admin/notifications?page=2&per_page=10`]]);
  });

  it("expands an app's relations and asks for a file token", async () => {
    const { calls, fetcher } = fakeFetch([[200, { items: [] }], [200, { token: 'ft' }]]);
    const api = new Api(memoryStore({ access: 'a', refresh: 'r' }), fetcher);
    await api.records('shop', 'books', { perPage: 20, expand: 'reader,tags' });
    expect((await api.fileToken('shop')).token).toBe('ft');
    expect(calls.map((c) => [c.method, c.url, c.headers.authorization])).toEqual([
      ['GET', '/apps/shop/api/collections/books/records?perPage=20&expand=reader%2Ctags', 'Bearer a'],
      ['POST', '/apps/shop/api/files/token', 'Bearer a'],
    ]);
  });
});
