/**
 * The live page in headless Chromium (Debian's chromium-headless-shell through playwright-core):
 * the graphs render and move, no console errors, and a container named like an HTML tag shows as
 * text. A screenshot is kept as a test artifact (test/artifacts/page.png).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { harness, until } from './support/harness.ts';

type H = Awaited<ReturnType<typeof harness>>;
let h: H;
const profile = mkdtempSync(join(tmpdir(), 'ws-cs-chromium-'));

before(async () => {
  h = await harness();
});
after(async () => {
  await h?.cleanup();
  rmSync(profile, { recursive: true, force: true });
});

const BROWSER = process.env.WINDSOCK_CHROMIUM ?? '/usr/bin/chromium-headless-shell';
const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;

test('the page draws node and container graphs that move, escapes names, and logs no errors', async () => {
  // Docker rejects '<' in names, so the hostile text arrives the way a rename or label would: as
  // a label the page shows in its search and as the container's display name via the image field.
  const hostile = '<img src=x onerror=alert(1)>';
  const c = await h.run(h.name('page'), 'while :; do :; done', { NanoCpus: 250_000_000 }, { note: hostile });
  await h.tracked(c.id, 2);
  // The display name is what discovery reports: put the hostile string there, as a runtime could.
  const tracked = h.collector.containers.get(c.id);
  assert.ok(tracked);
  tracked.info = { ...tracked.info, name: hostile };

  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: BROWSER,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const problems: string[] = [];
    let dialogs = 0;
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', async (d) => {
      dialogs++;
      await d.dismiss();
    });
    await page.goto(`${h.url}/`);
    await page.waitForSelector('#node-charts canvas');
    await page.fill('#search', 'onerror');
    await until(async () => (await page.locator('#rows tr').count()) === 1, 20_000, 'the search to leave one row');
    await page.locator('#rows tr').first().click();
    await until(
      async () => Number((await page.getAttribute('body', 'data-ticks')) ?? 0) >= 3,
      30_000,
      'three page updates',
    );
    // The graphs move: the container's CPU canvas changes between two updates.
    assert.ok((await page.locator('#container-charts canvas').count()) >= 4, 'container graphs drawn');
    const firstShot = await page.locator('#container-charts canvas').first().screenshot();
    const ticks0 = Number(await page.getAttribute('body', 'data-ticks'));
    await until(
      async () => Number((await page.getAttribute('body', 'data-ticks')) ?? 0) >= ticks0 + 2,
      30_000,
      'two more updates',
    );
    const secondShot = await page.locator('#container-charts canvas').first().screenshot();
    assert.ok(!firstShot.equals(secondShot), 'the container CPU graph did not change between updates');
    // The hostile name is text: no <img> was created, no dialog opened.
    const nameCell = await page.locator('#rows td.name').first().textContent();
    assert.equal(nameCell, hostile);
    assert.equal(await page.locator('#rows img, #selected-name img').count(), 0);
    assert.match((await page.textContent('#selected-name')) ?? '', /<img src=x onerror=alert\(1\)>/);
    assert.equal(dialogs, 0);
    assert.deepEqual(problems, []);
    await page.fill('#search', '');
    await until(async () => (await page.locator('#rows tr').count()) >= 1, 10_000, 'the list');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'page.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
