/**
 * Issue 13, item 7: the dashboard at /ui in a real headless Chromium
 * (Debian's `chromium`, driven by playwright-core), against a three-node
 * cluster started through the CLI with an API token. The page must load with
 * no console error (a CSP violation is one), show the three nodes and their
 * live links, move its decision chart under load, list denied key hashes and
 * events from /v1/events, and work in both auth modes: on the admin listener
 * without a token, and on the main port after exchanging the token for a
 * session cookie. Data from the server is shown as text, never as markup.
 *
 * scripts/browser-prereqs.sh installs chromium when it is missing (as root,
 * with apt-get). Where it cannot, the tests skip saying why — except under
 * CI=true, where a missing browser fails them. Screenshots go to
 * test-artifacts/ (gitignored).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, eventually, startCli } from './cli-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-artifacts');
const TOKEN = 'a-dashboard-token-of-decent-length';
const LIMITER = 'name=api,limit=20,window=10s';

interface Node {
  id: string;
  url: string;
  admin: string;
  address: string;
}

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-dashboard-'));
const spawned: CliProcess[] = [];
const nodes: Node[] = [];
let browser: Browser | undefined;
let skipReason: string | undefined;

/** Runs the prereqs script: the browser's path, or why there is none (a failure under CI). */
function findBrowser(): string | undefined {
  const r = spawnSync('bash', [join(ROOT, 'scripts/browser-prereqs.sh')], { encoding: 'utf8', timeout: 600_000 });
  const path = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status === 0 && path !== '') return path;
  const why = `chromium is not available (scripts/browser-prereqs.sh exited ${r.status}): ${r.stderr.trim()}`;
  if (process.env.CI === 'true' || r.status !== 3) throw new Error(why);
  skipReason = why;
  return undefined;
}

beforeAll(async () => {
  const executablePath = findBrowser();
  if (executablePath === undefined) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(dir, 'secret'), 'a-shared-secret-for-the-dashboard-test\n', { mode: 0o600 });
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  for (const id of ['a', 'b', 'c']) {
    const peers = nodes.map((n) => n.address);
    const d = await startCli([
      '--id', id, '--port', '0', '--admin-port', '0', '--secret-file', join(dir, 'secret'), '--api-token-file', join(dir, 'token'),
      '--limiter', LIMITER, '--events-denied-per-sec', '50', ...(peers.length > 0 ? ['--peers', peers.join(',')] : []),
    ]);
    spawned.push(d.proc);
    const [, admin] = await d.proc.waitForStdout(/^tallymesh admin listening on (http:\/\/\S+)$/m);
    nodes.push({ id, url: d.url, admin: admin!, address: d.address });
  }
  await eventually(async () => {
    for (const n of nodes) {
      const c = (await (await fetch(`${n.admin}/v1/cluster`)).json()) as { peers: Array<{ state: string }> };
      if (c.peers.length !== 2 || c.peers.some((p) => p.state !== 'live')) return false;
    }
    return true;
  }, 30_000, 'a live three-node mesh');
  browser = await chromium.launch({ executablePath });
}, 900_000);

afterAll(async () => {
  await browser?.close();
  for (const p of spawned) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A page that records every console error, page error and failed request. */
async function openPage(context: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The event stream is cut when the page closes; that is no error of the page.
    if (!r.url().endsWith('/v1/events')) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** Sends consume requests to `node` with the token until `stop()`; keys k0..k9, so some hit the limit. */
function load(node: Node): { stop: () => Promise<number> } {
  let running = true;
  let sent = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; running; i++) {
      await fetch(`${node.url}/v1/consume`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ limiter: 'api', key: `k${(w + i) % 10}` }),
      });
      sent++;
    }
  };
  const workers = Array.from({ length: 4 }, (_, w) => worker(w));
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return sent;
    },
  };
}

/** What the hostile-content check reads back from the page. */
interface Hostile {
  pwned: number | null;
  injected: number;
  labels: string[];
  linkClass: string | undefined;
  feedText: string;
  cell: string | undefined;
}

const chartAttr = (page: Page, name: string): Promise<string | null> => page.locator('#rate-charts .chart[data-limiter="api"]').getAttribute(name);

describe('the dashboard in headless Chromium', () => {
  it('shows the three nodes, live links, a decision chart that moves under load, denied keys and events, on the admin listener without a token', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const { page, errors } = await openPage(context, `${nodes[0]!.admin}/ui/`);
    // No login on the admin listener.
    await expect.poll(() => page.locator('#login').isHidden()).toBe(true);
    await expect.poll(() => page.locator('#cluster-graph [data-node-id]').count(), { timeout: 15_000 }).toBe(3);
    expect((await page.locator('#cluster-graph [data-node-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-node-id')))).sort()).toEqual(['a', 'b', 'c']);
    await expect.poll(() => page.locator('#cluster-graph .link[data-state="live"]').count(), { timeout: 15_000 }).toBe(2);
    await expect.poll(() => page.locator('#feed-state').textContent(), { timeout: 15_000 }).toBe('live');

    // Idle: the chart has points, all at zero.
    await expect.poll(async () => Number(await chartAttr(page, 'data-points')), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    expect(await chartAttr(page, 'data-allowed-per-sec')).toBe('0');
    const idlePoints = Number(await chartAttr(page, 'data-points'));
    const idleCanvas = await page.locator('#rate-charts canvas').first().evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL());

    const traffic = load(nodes[0]!);
    try {
      await expect.poll(async () => Number(await chartAttr(page, 'data-allowed-per-sec')), { timeout: 20_000 }).toBeGreaterThan(0);
      await expect.poll(async () => Number(await chartAttr(page, 'data-denied-per-sec')), { timeout: 20_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#denied-keys tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#events .event-denied').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    } finally {
      expect(await traffic.stop()).toBeGreaterThan(0);
    }
    expect(Number(await chartAttr(page, 'data-points'))).toBeGreaterThan(idlePoints);
    expect(await page.locator('#rate-charts canvas').first().evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL())).not.toBe(idleCanvas);
    // Key hashes, never the keys themselves.
    const hashes = await page.locator('#denied-keys tbody td.mono').allTextContents();
    for (const h of hashes) expect(h).not.toMatch(/^k\d$/);
    expect(await page.locator('#readiness').textContent()).toBe('ready');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-admin.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('asks for the token on the main port, refuses a wrong one, and opens an HttpOnly SameSite=Strict session with the right one', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const node = nodes[1]!;
    const { page, errors } = await openPage(context, `${node.url}/ui/`);
    await expect.poll(() => page.locator('#login').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.locator('#panels').isHidden()).toBe(true);
    // The page asked whether it needs the token; it did not provoke a 401 to find out.
    expect(errors).toEqual([]);

    await page.locator('#token').fill('not-the-token-at-all');
    await page.locator('#login-form button[type=submit]').click();
    await expect.poll(() => page.locator('#login-error').textContent()).toBe('That token is not the one this node expects.');
    expect(await context.cookies()).toEqual([]);
    errors.length = 0; // the 401 of the refused exchange, as above

    await page.locator('#token').fill(TOKEN);
    await page.locator('#login-form button[type=submit]').click();
    await expect.poll(() => page.locator('#cluster-graph [data-node-id]').count(), { timeout: 15_000 }).toBe(3);
    await expect.poll(() => page.locator('#feed-state').textContent(), { timeout: 15_000 }).toBe('live');
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: `tallymesh_ui_${new URL(node.url).port}`, httpOnly: true, sameSite: 'Strict', path: '/' });
    // No script can read it, and it opens reads only: a decision still needs the token.
    expect(await page.evaluate('document.cookie')).toBe('');
    const consumeStatus = await page.evaluate(async () => {
      const res = await fetch('/v1/consume', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"limiter":"api","key":"from-the-page"}' });
      return res.status;
    });
    expect(consumeStatus).toBe(401);
    errors.length = 0; // that 401 is the console error of the request just refused

    // The session survives a reload (which aborts the requests still open: not the page's errors).
    await page.reload();
    errors.length = 0;
    await expect.poll(() => page.locator('#cluster-graph [data-node-id]').count(), { timeout: 15_000 }).toBe(3);
    expect(await page.locator('#login').isHidden()).toBe(true);
    expect(await page.locator('#logout').isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-token.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('shows hostile node ids, addresses, key hashes and event fields as text, never as markup', async (ctx) => {
    if (browser === undefined) return ctx.skip(skipReason);
    const context = await browser.newContext();
    const { page, errors } = await openPage(context, `${nodes[2]!.admin}/ui/`);
    await expect.poll(() => page.locator('#cluster-graph [data-node-id]').count(), { timeout: 15_000 }).toBe(3);
    const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    // A string, not a function: the test runner would rewrite a function's import() for Node.
    const shown = (await page.evaluate(`(async (evil) => {
      const { renderClusterGraph } = await import('/ui/cluster-graph.js');
      const { EventFeed } = await import('/ui/event-feed.js');
      const { DeniedKeys } = await import('/ui/denied-keys.js');
      const box = document.createElement('div');
      document.body.append(box);
      renderClusterGraph(box, {
        node: { nodeId: evil, address: evil, ready: true },
        peers: [{ nodeId: evil, address: evil, state: \`live" onmouseover="window.__pwned=3\`, reachable: true, clockOffsetMs: 1, replicationLagMs: 2 }],
      });
      const list = document.createElement('ol');
      document.body.append(list);
      const feed = new EventFeed(list);
      feed.add('peer', { nodeId: evil, address: evil, state: evil, reason: evil, at: Date.now() });
      feed.add(evil, { limiter: evil, at: Date.now() });
      const table = document.createElement('table');
      const tbody = document.createElement('tbody');
      table.append(tbody);
      document.body.append(table);
      const denied = new DeniedKeys(tbody);
      denied.add({ limiter: evil, keyHash: evil });
      denied.render();
      await new Promise((r) => setTimeout(r, 200));
      return {
        pwned: window.__pwned ?? null,
        injected: document.querySelectorAll('img, script:not([src])').length,
        labels: [...box.querySelectorAll('.node-label')].map((e) => e.textContent),
        linkClass: box.querySelector('.link')?.getAttribute('class'),
        feedText: list.textContent,
        cell: tbody.querySelector('td.mono')?.textContent,
      };
    })(${JSON.stringify(evil)})`)) as Hostile;
    expect(shown.pwned).toBeNull();
    expect(shown.injected).toBe(0);
    expect(shown.labels).toEqual([evil, evil]);
    expect(shown.linkClass).toBe('link link-unknown');
    expect(shown.feedText).toContain(evil);
    expect(shown.cell).toBe(evil);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
