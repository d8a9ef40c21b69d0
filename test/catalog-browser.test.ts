/**
 * The catalog page in a real browser: Debian's chromium, headless, driven by
 * playwright-core (no browser download), against a whole server on port 0
 * (api and catalog with a secret, skydns, synth) on the system clock.
 *
 * It registers services over HTTP and waits on DOM conditions (never sleeps):
 * an instance appears without a reload, its TTL counts down, restarts on a
 * heartbeat and the instance vanishes on expiry; the filter; the SRV answer;
 * deregistering needs the secret. It saves a screenshot (docs/catalog.png, the README's,
 * with SKYDNS_UPDATE_SCREENSHOT=1; a temp file otherwise). Outside CI a missing chromium skips it loudly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { CatalogPlugin } from '../plugins/catalog/index.js';
import { startServer, type TestServer } from '../src/testing/server.js';

/** The page's document as seen from a function run in the browser (this project's tsconfig has no DOM types). */
type Doc = { querySelector(s: string): { textContent: string | null } | null; activeElement: { textContent: string | null } | null };
/** Runs in the page (passed as a function, not a string: the page's CSP forbids eval). */
function ttlIs([uuid, op, n]: [string, 'below' | 'equal', number]): boolean {
  const d = (globalThis as unknown as { document: Doc }).document;
  const td = d.querySelector(`tr[data-uuid="${uuid}"] td.ttl`);
  if (!td || td.textContent === null) return false;
  const v = Number(td.textContent.replace(' s', ''));
  return op === 'below' ? v < n : v === n;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

function chromiumPath(): string | undefined {
  const want = process.env.CHROMIUM_BIN ?? 'chromium';
  const r = spawnSync('sh', ['-c', `command -v "${want.replace(/"/g, '')}"`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const browserBin = chromiumPath();
const skip = browserBin || process.env.CI === 'true' ? false : 'chromium not found (apt-get install chromium)';
if (skip) {
  const bar = '!'.repeat(78);
  process.stderr.write(`${bar}\n!! chromium NOT FOUND: SKIPPING test/catalog-browser.test.js (the catalog page in a browser)\n!! install it with: apt-get install chromium\n${bar}\n`);
}

const SKYFILE = `{
  chain: [
    { api: { listen: "127.0.0.1:0", secret: "s3cret" } },
    { catalog: { listen: "127.0.0.1:0", secret: "s3cret" } },
    { skydns: { zone: "skydns.local" } },
    { synth: { zone: "skydns.local" } },
  ],
}`;

describe('catalog page in headless chromium', { skip }, () => {
  let srv: TestServer;
  let api: string;
  let page: Page;
  let context: BrowserContext;
  let profile: string;
  const cspErrors: string[] = [];

  const put = async (uuid: string, over: Record<string, unknown>): Promise<void> => {
    const res = await fetch(`${api}/skydns/services/${uuid}`, {
      method: 'PUT',
      headers: { authorization: 's3cret', 'content-type': 'application/json' },
      body: JSON.stringify({ Name: 'web', Version: '1.0.1', Environment: 'production', Region: 'east', Host: '10.0.0.1', Port: 8080, TTL: 60, ...over }),
    });
    assert.equal(res.status, 201, await res.text());
  };
  const row = (uuid: string) => page.locator(`tr[data-uuid="${uuid}"]`);
  const ttlOf = async (uuid: string): Promise<number> => Number((await row(uuid).locator('td.ttl').textContent())!.replace(' s', ''));

  before(async () => {
    srv = await startServer(SKYFILE);
    const apiLink = srv.app.plugins.find((l) => l.name === 'api')!;
    api = (apiLink.plugin as unknown as { url(): string }).url();
    const catalog = (srv.app.plugins.find((l) => l.name === 'catalog')!.plugin as CatalogPlugin).url();
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'skydns-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browserBin!,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1100, height: 900 },
      colorScheme: 'light',
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${catalog}/`);
    await page.locator('#status[data-state="live"]').waitFor();
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await srv?.stop();
  });

  it('shows a registration without a reload, counts its TTL down, restarts it on a heartbeat, and drops it on expiry', async () => {
    // Fresh page: the first Tab reaches the skip link.
    const focused = (): Promise<string | null | undefined> => page.evaluate(() => (globalThis as unknown as { document: Doc }).document.activeElement?.textContent);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Skip to the services');
    await put('short-1', { TTL: 3, Host: '10.0.0.9' });
    await row('short-1').waitFor();
    assert.equal(await row('short-1').locator('td').nth(3).textContent(), '10.0.0.9');
    const first = await ttlOf('short-1');
    assert.ok(first >= 1 && first <= 3, `TTL shown ${first}`);
    // The countdown: wait for a smaller number on the page.
    await page.waitForFunction(ttlIs, ['short-1', 'below', first] as [string, 'below', number]);
    // The registry expires it; the page is told and drops the row.
    await row('short-1').waitFor({ state: 'detached' });

    await put('web-1', { TTL: 60 });
    await row('web-1').waitFor();
    await page.waitForFunction(ttlIs, ['web-1', 'below', 60] as [string, 'below', number]);
    const res = await fetch(`${api}/skydns/services/web-1`, { method: 'PATCH', headers: { authorization: 's3cret', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 200);
    await page.waitForFunction(ttlIs, ['web-1', 'equal', 60] as [string, 'equal', number]);
  });

  it('filters with the DNS name syntax and shows the SRV and A answers SkyDNS gives; saves the screenshot', async () => {
    await put('web-2', { Region: 'west', Host: '10.0.0.2', Version: '1.1.0' });
    await put('api-1', { Name: 'api', Environment: 'staging', Host: '10.1.0.5', Port: 9000, TTL: 120 });
    await row('api-1').waitFor();
    const filter = page.getByLabel('Filter (DNS name syntax)');
    await filter.fill('staging');
    await row('web-1').waitFor({ state: 'detached' });
    assert.equal(await row('api-1').count(), 1);
    await filter.fill('west.*.web.production');
    await row('api-1').waitFor({ state: 'detached' });
    assert.deepEqual(await page.locator('tr[data-uuid]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-uuid'))), ['web-2']);
    await filter.fill('a..b');
    await page.locator('#filter[aria-invalid="true"]').waitFor();
    await page.locator('#services .empty', { hasText: 'not a valid DNS-style pattern' }).waitFor();
    await filter.fill('');
    await row('api-1').waitFor();

    const answers = page.locator('details[data-answers="web.production"]');
    await answers.locator('summary').click();
    await answers.locator('pre', { hasText: 'IN SRV' }).waitFor();
    const srvText = await answers.locator('pre').first().textContent();
    assert.match(srvText!, /web\.production\.skydns\.local\. \d+ IN SRV 10 50 8080 web-1\.skydns\.local\./);
    assert.match(srvText!, /IN SRV 10 50 8080 web-2\.skydns\.local\./);
    const aText = await answers.locator('pre').nth(1).textContent();
    assert.match(aText!, /IN A 10\.0\.0\.1/);
    assert.match(aText!, /IN A 10\.0\.0\.2/);

    // A test run leaves the tree clean: the screenshot goes to a temp dir unless
    // SKYDNS_UPDATE_SCREENSHOT=1 asks for the README's docs/catalog.png to be renewed.
    const out = process.env.SKYDNS_UPDATE_SCREENSHOT === '1' ? join(root, 'docs') : mkdtempSync(join(tmpdir(), 'skydns-catalog-shot-'));
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'catalog.png'), fullPage: true });
  });

  it('is usable from the keyboard and deregisters only with the secret', async () => {
    const secret = page.getByLabel('Secret (needed to deregister)');
    assert.equal(await secret.isVisible(), true, 'the page asks for the secret because one is set');
    const button = page.getByRole('button', { name: 'Deregister api-1' });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.locator('#message', { hasText: 'Enter the secret' }).waitFor();
    await secret.fill('wrong');
    await button.click();
    await page.locator('#message', { hasText: 'Could not deregister api-1' }).waitFor();
    assert.equal(await row('api-1').count(), 1, 'still there');
    await secret.fill('s3cret');
    await button.click();
    await row('api-1').waitFor({ state: 'detached' });
    await page.locator('#message', { hasText: 'Deregistered api-1' }).waitFor();
    const registry = await srv.app.registry();
    assert.equal(registry.get('api-1'), undefined);
    assert.deepEqual(cspErrors, [], 'nothing on the page was blocked by its Content-Security-Policy');
  });
});
