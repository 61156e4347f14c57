// A real OpenID Provider for the identity tests: panva's certified `oidc-provider`, on
// 127.0.0.1 (a free port), with the clients given in $OIDC_CLIENTS (a JSON array of
// {client_id, client_secret, redirect_uris}). It prints `issuer <url>` once listening.
//
// Accounts: any login; the login is the e-mail address, verified unless it contains
// "unverified". A helper route plays the browser: `GET /test/sign-in?url=<authorization URL>
// &login=<email>` follows the authorization request through the login and consent forms
// (with the cookies a browser keeps) and answers `{"location": <redirect with code and state>}`.

import http from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OIDC_CLIENTS ?? '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_post',
  ...c,
}));

const server = http.createServer();
await new Promise((ready) => server.listen(0, '127.0.0.1', ready));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({
      sub,
      email: sub,
      email_verified: !sub.includes('unverified'),
      name: sub.split('@')[0],
    }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['socle-test-cookie-key'] },
  ttl: { IdToken: 600, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;

/** Follow `url` like a browser, through the login and consent forms, to the client's redirect. */
async function signIn(url, login) {
  const jar = new Map();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  };
  let next = { url, method: 'GET', body: undefined };
  for (let hops = 0; hops < 20; hops += 1) {
    const response = await fetch(next.url, {
      method: next.method,
      body: next.body,
      redirect: 'manual',
      headers: {
        cookie: cookieHeader(),
        ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
    });
    keep(response);
    const location = response.headers.get('location');
    if (location) {
      const target = new URL(location, next.url);
      if (!target.href.startsWith(issuer)) return target.href;
      next = { url: target.href, method: 'GET', body: undefined };
      continue;
    }
    const html = await response.text();
    const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
    if (!action) throw new Error(`no form and no redirect at ${next.url} (${response.status}): ${html.slice(0, 300)}`);
    const prompt = html.match(/name="prompt" value="([^"]+)"/)?.[1];
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      form.set('login', login);
      form.set('password', 'any');
    }
    next = { url: new URL(action, next.url).href, method: 'POST', body: form.toString() };
  }
  throw new Error('too many redirects');
}

server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/test/sign-in') {
    try {
      const location = await signIn(url.searchParams.get('url'), url.searchParams.get('login'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ location }));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e?.stack ?? e));
    }
    return;
  }
  provider.callback()(req, res);
});

console.log(`issuer ${issuer}`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
