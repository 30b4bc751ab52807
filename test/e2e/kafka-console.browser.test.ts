/**
 * The kafka-nest console in a real browser (Debian's headless Chromium, driven by playwright-core), on the
 * sample application as `npm start` boots it: the page lists the dead letters with their exception class,
 * a click on Replay sends one back and the table updates, the lag panel shows the figures of /metrics, and a
 * click on Pause pauses the container. The screenshot in docs/images comes from this test: it is written there
 * when missing or with UPDATE_SCREENSHOTS=1 (elsewhere otherwise, so a test run leaves the work tree clean).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor } from '@kafka-nest/testing';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, type RunningApp } from '../../src/bootstrap.js';
import { FRAUD_LIMIT_CENTS } from '../../src/orders/orders.listener.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../docs/images/kafka-console.png', import.meta.url));

/** Every `kafka_nest_consumer_lag` sample of a Prometheus text, keyed `group topic partition`. */
function lagSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^kafka_nest_consumer_lag\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.set(`${labels.group} ${labels.topic} ${labels.partition}`, Number(m[2]));
  }
  return out;
}

/** Clicks Refresh and waits until the page has read the state again. */
async function refresh(page: Page): Promise<void> {
  const before = Number((await page.getAttribute('body', 'data-refreshes')) ?? 0);
  await page.click('#refresh');
  // Polled from here: waitForFunction would poll with a string evaluated in the page, which the console's
  // Content-Security-Policy (script-src 'self', no 'unsafe-eval') refuses.
  await expect.poll(async () => Number((await page.getAttribute('body', 'data-refreshes')) ?? 0), { timeout: 15_000, interval: 50 }).toBeGreaterThan(before);
}

/** The lag panel of the page, keyed as `lagSamples`. */
async function lagPanel(page: Page): Promise<Map<string, number>> {
  const rows = await page.$$eval('#lag tbody tr[data-group]', (trs) =>
    trs.map((tr) => [`${tr.getAttribute('data-group')} ${tr.getAttribute('data-topic')} ${tr.getAttribute('data-partition')}`, tr.querySelector('td.lag')!.textContent!]),
  );
  return new Map(rows.map(([k, v]) => [k, Number(v)]));
}

// Each step waits up to 30 s for the page; the tests get room for a few such waits on a loaded machine.
describe('kafka-nest console in Chromium', { timeout: 90_000 }, () => {
  let running: RunningApp;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  const post = (body: unknown) => fetch(`${running.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
    running = await bootstrap({ port: 0, demo: false }, { progressIntervalMs: 0, logger: false });
    const registry = running.app.get(KafkaListenerEndpointRegistry);
    await waitFor(() => registry.getListenerContainerIds().every((id) => registry.assignedPartitions(id).length > 0), { timeoutMs: 20_000 });
    // Two orders the listener refuses (one above the fraud limit, one malformed) and one it accepts.
    expect((await post({ id: 'fraud-1', customerId: 'c-1', amountCents: FRAUD_LIMIT_CENTS + 1, quantity: 1 })).status).toBe(202);
    expect((await post({ id: 'ok-1', customerId: 'c-2', amountCents: 1200, quantity: 1 })).status).toBe(202);
    // The malformed one goes through the template, as a buggy producer would send it.
    await running.app.get(KafkaTemplate).send('orders', { id: 'bad-1', amountCents: 'twelve euros' }, { key: 'c-3' });
    await waitFor(() => running.broker!.allRecords('orders.DLT').length === 2, { timeoutMs: 30_000, message: 'two dead letters' });

    profile = mkdtempSync(join(tmpdir(), 'kafka-console-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1600, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${running.url}/kafka`);
    expect(errors).toEqual([]);
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await running?.close();
  });

  it('lists the dead letters with their exception class and origin', async () => {
    await page.waitForSelector('#letters tbody tr[data-offset]', { timeout: 30_000 });
    expect(await page.inputValue('#dlt-select')).toBe('orders.DLT');
    const rows = await page.$$eval('#letters tbody tr[data-offset]', (trs) =>
      trs.map((tr) => ({
        exception: tr.querySelector('td.exception')!.textContent,
        status: tr.querySelector('td.status')!.textContent,
        value: tr.querySelector('td.value')!.firstChild!.textContent,
      })),
    );
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.exception).sort()).toEqual(['BadRequestException', 'FraudCheckFailedError']);
    expect(rows.every((r) => r.status === 'pending')).toBe(true);
    expect(rows.find((r) => r.exception === 'FraudCheckFailedError')!.value).toContain('"id":"fraud-1"');
    const containers = await page.$$eval('#containers tbody tr[data-id]', (trs) => trs.map((tr) => [tr.getAttribute('data-id'), tr.querySelector('td.state')!.textContent]));
    expect(Object.fromEntries(containers)).toMatchObject({ orders: 'running', 'orders-dlt': 'running', payments: 'running' });
  });

  it('shows in the lag panel the consumer lag figures of /metrics', async () => {
    await waitFor(
      async () => {
        const fromMetrics = lagSamples(await (await fetch(`${running.url}/metrics`)).text());
        await refresh(page);
        const shown = await lagPanel(page);
        return fromMetrics.size > 0 && shown.size === fromMetrics.size && [...fromMetrics].every(([k, v]) => shown.get(k) === v);
      },
      { timeoutMs: 30_000, intervalMs: 500, message: 'the lag panel to show the /metrics figures' },
    );
    // A figure that is not zero: pause the orders listener, send orders. A fetch already in flight when the
    // pause came may still deliver the first ones, so orders are sent until some stay unconsumed.
    const registry = running.app.get(KafkaListenerEndpointRegistry);
    registry.pause('orders');
    let sent = 0;
    const send = async () => {
      sent++;
      await post({ id: `lag-${sent}`, customerId: `c-lag-${sent}`, amountCents: 1000, quantity: 1 });
    };
    await send();
    await send();
    try {
      await waitFor(
        async () => {
          const fromMetrics = lagSamples(await (await fetch(`${running.url}/metrics`)).text());
          await refresh(page);
          const shown = await lagPanel(page);
          const ordersLag = [0, 1, 2].reduce((n, p) => n + (shown.get(`orders-service orders ${p}`) ?? 0), 0);
          const metricsLag = [0, 1, 2].reduce((n, p) => n + (fromMetrics.get(`orders-service orders ${p}`) ?? 0), 0);
          if (ordersLag === 0 && metricsLag === 0 && sent < 10) await send();
          return ordersLag > 0 && ordersLag === metricsLag && [...fromMetrics].every(([k, v]) => shown.get(k) === v);
        },
        { timeoutMs: 30_000, intervalMs: 500, message: 'a lag on orders, as /metrics says' },
      );
    } finally {
      registry.resume('orders');
    }
  });

  it('a click on Replay sends the record back to orders and the table shows it done; the failure comes back as replay 1', async () => {
    const fraudRow = page.locator('#letters tbody tr[data-offset]', { has: page.locator('td.exception', { hasText: 'FraudCheckFailedError' }) }).first();
    const [partition, offset] = [await fraudRow.getAttribute('data-partition'), await fraudRow.getAttribute('data-offset')];
    const before = running.broker!.allRecords('orders').length;
    await fraudRow.locator('button.replay').click();
    const row = page.locator(`#letters tbody tr[data-partition="${partition}"][data-offset="${offset}"]`);
    await expect.poll(async () => row.locator('td.status').textContent(), { timeout: 30_000 }).toBe('done');
    expect(await page.textContent('#message')).toBe('Replayed 1, parked 0; 1 not selected, still pending');
    const replayed = running.broker!.allRecords('orders').slice(0).filter((r) => r.headers.some((h) => h.key === 'kafka-nest_replay-count'));
    expect(replayed).toHaveLength(1);
    expect(running.broker!.allRecords('orders').length).toBe(before + 1);
    expect(JSON.parse(replayed[0].value!.toString())).toMatchObject({ id: 'fraud-1' });
    // The fraud check refuses it again: back in the DLT, with one replay counted.
    await waitFor(() => running.broker!.allRecords('orders.DLT').length === 3, { timeoutMs: 30_000, message: 'the replayed order back in the DLT' });
    await expect
      .poll(
        async () => {
          await page.click('#refresh');
          return page.$$eval('#letters tbody tr[data-offset]', (trs) => trs.map((tr) => tr.children[4]!.textContent).sort());
        },
        { timeout: 30_000, interval: 500 },
      )
      .toEqual(['0', '0', '1']);
    // The other dead letter is still pending.
    expect(await page.$$eval('#letters tbody td.status', (tds) => tds.map((td) => td.textContent).sort())).toEqual(['done', 'pending', 'pending']);
    const path = process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(SCREENSHOT) ? SCREENSHOT : join(profile, 'kafka-console.png');
    const png = await page.screenshot({ path, fullPage: true });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // "pending only" asks for the records the replay group has not handled: the replayed one disappears.
    await page.check('#pending-only');
    await expect
      .poll(async () => page.$$eval('#letters tbody td.status', (tds) => tds.map((td) => td.textContent)), { timeout: 30_000 })
      .toEqual(['pending', 'pending']);
    await page.uncheck('#pending-only');
  });

  it('Pause and Resume buttons drive the listener container', async () => {
    const registry = running.app.get(KafkaListenerEndpointRegistry);
    const payments = page.locator('#containers tbody tr[data-id="payments"]');
    await payments.locator('button[data-action="pause"]').click();
    await expect.poll(async () => payments.locator('td.state').textContent(), { timeout: 15_000 }).toBe('paused');
    expect(registry.getListenerContainer('payments').isPaused()).toBe(true);
    await payments.locator('button[data-action="resume"]').click();
    await expect.poll(async () => payments.locator('td.state').textContent(), { timeout: 15_000 }).toBe('running');
    expect(registry.getListenerContainer('payments').isPaused()).toBe(false);
  });
});
