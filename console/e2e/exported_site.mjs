// Opens an exported static site (a folder) in headless Chromium, as a visitor would: serves
// it over HTTP, starts at index.html, follows every link to another page of the site, and
// reports the pages reached, every console error or failed request, and a screenshot of the
// home page. Used by tests/api/exports.rs (it lives here for the console's playwright-core).
//   node e2e/exported_site.mjs SITE_DIR SCREENSHOT.png
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const [dir, shot] = process.argv.slice(2);
if (!dir || !shot) {
  console.error('usage: node e2e/exported_site.mjs SITE_DIR SCREENSHOT.png');
  process.exit(2);
}
const TYPES = { '.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.xml': 'application/xml', '.txt': 'text/plain', '.webmanifest': 'application/manifest+json' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end('not found');
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const page = await (await browser.newContext({ viewport: { width: 1024, height: 700 } })).newPage();
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`); });
page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.url()}: HTTP ${r.status()}`); });
const visited = [];
const queue = ['index.html'];
while (queue.length) {
  const next = queue.shift();
  if (visited.includes(next)) continue;
  visited.push(next);
  await page.goto(base + next, { waitUntil: 'load' });
  if (next === 'index.html') await page.screenshot({ path: shot, fullPage: true });
  const links = await page.$$eval('a[href]', (as) => as.map((a) => a.getAttribute('href')));
  for (const href of links) {
    const target = new URL(href, page.url());
    if (target.origin === new URL(base).origin && target.pathname.endsWith('.html')) {
      queue.push(target.pathname.replace(/^\//, ''));
    }
  }
}
await browser.close();
server.close();
console.log(JSON.stringify({ visited, errors }));
