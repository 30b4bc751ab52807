/**
 * The console's security choices over HTTP: nothing is served unless KafkaConsoleModule is imported; the
 * application's guards (module-level and global) apply to every route; a state-changing POST needs the
 * page's token in a custom header, a JSON body and a same-origin request.
 */
import { type CanActivate, type ExecutionContext, type INestApplication, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaConfigurationError, KafkaConsoleModule, KafkaListenerEndpointRegistry } from '@kafka-nest/core';
import { createKafkaTestBroker, KafkaTestingModule, waitForAssignment } from '@kafka-nest/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ordersProviders } from '../fixtures/dead-letters/orders-app.js';

@Injectable()
class AdminOnly implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-role'] === 'admin';
  }
}

let broker: EmbeddedKafkaBroker;
let app: INestApplication | undefined;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'orders' }, { name: 'orders.DLT' }] });
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => broker.stop());

/** The `message` of a JSON error response. */
const messageOf = async (res: Response) => ((await res.json()) as { message: string }).message;

async function start(imports: unknown[]): Promise<string> {
  const module = await Test.createTestingModule({ imports: [KafkaTestingModule.forBroker(broker), ...(imports as never[])], providers: ordersProviders }).compile();
  app = module.createNestApplication({ logger: false });
  app.useGlobalGuards({ canActivate: (ctx: ExecutionContext) => ctx.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-blocked'] === undefined });
  await app.listen(0, '127.0.0.1');
  return (await app.getUrl()).replace('[::1]', '127.0.0.1');
}

describe('kafka-nest console security', () => {
  it('is not there unless KafkaConsoleModule is imported', async () => {
    const url = await start([]);
    for (const path of ['/kafka', '/kafka/api/state', '/kafka/console.js']) expect((await fetch(url + path)).status).toBe(404);
    expect((await fetch(`${url}/kafka/api/containers/orders/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
  });

  it("runs the application's guards on every route, and refuses POSTs without the page's token, a JSON body and the same origin", async () => {
    const url = await start([KafkaConsoleModule.register({ path: 'ops/kafka', guards: [AdminOnly] })]);
    const admin = { 'x-role': 'admin' };
    await waitForAssignment(app!.get(KafkaListenerEndpointRegistry), 'orders', 1);

    expect((await fetch(`${url}/ops/kafka`)).status).toBe(403); // the module's guard
    expect((await fetch(`${url}/ops/kafka/api/state`)).status).toBe(403);
    expect((await fetch(`${url}/ops/kafka`, { headers: { ...admin, 'x-blocked': '1' } })).status).toBe(403); // a global guard
    const page = await fetch(`${url}/ops/kafka`, { headers: admin });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    const token = /<meta name="kafka-console-token" content="([^"]+)">/.exec(html)![1];
    expect(html).toContain('<script src="/ops/kafka/console.js" defer></script>');
    expect(html).not.toMatch(/<script>/); // no inline script
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const pause = (headers: Record<string, string>, body = '{}') => fetch(`${url}/ops/kafka/api/containers/orders/pause`, { method: 'POST', headers: { ...admin, ...headers }, body });
    const json = { 'content-type': 'application/json' };
    const noToken = await pause(json);
    expect(noToken.status).toBe(403);
    expect((await messageOf(noToken))).toMatch(/missing or wrong x-kafka-console-token header/);
    expect((await pause({ ...json, 'x-kafka-console-token': 'guess' })).status).toBe(403);
    const form = await pause({ 'content-type': 'text/plain', 'x-kafka-console-token': token });
    expect(form.status).toBe(403);
    expect((await messageOf(form))).toMatch(/JSON body/);
    const crossOrigin = await pause({ ...json, 'x-kafka-console-token': token, origin: 'http://evil.example' });
    expect(crossOrigin.status).toBe(403);
    expect((await messageOf(crossOrigin))).toMatch(/cross-origin request refused/);
    expect((await pause({ ...json, 'x-kafka-console-token': token, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await pause({ ...json, 'x-kafka-console-token': token, origin: 'null' })).status).toBe(403);
    expect((await fetch(`${url}/ops/kafka/api/containers/orders/pause`, { method: 'POST', headers: { ...json, 'x-kafka-console-token': token }, body: '{}' })).status).toBe(403); // no role
    expect(app!.get(KafkaListenerEndpointRegistry).getListenerContainer('orders').isPaused()).toBe(false);

    const ok = await pause({ ...json, 'x-kafka-console-token': token, origin: url, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: 'orders', running: true, paused: true });
    expect(app!.get(KafkaListenerEndpointRegistry).getListenerContainer('orders').isPaused()).toBe(true);

    const post = (path: string, body: unknown) =>
      fetch(`${url}/ops/kafka/api/${path}`, { method: 'POST', headers: { ...admin, ...json, 'x-kafka-console-token': token }, body: JSON.stringify(body) });
    const unknownId = await post('containers/nope/stop', {});
    expect(unknownId.status).toBe(404);
    expect((await messageOf(unknownId))).toMatch(/no listener container with id 'nope'; known ids: 'orders'/);
    const badFilter = await post('dead-letters/orders.DLT/replay', { filter: { exceptionClas: 'X' } });
    expect(badFilter.status).toBe(400);
    expect((await messageOf(badFilter))).toMatch(/unknown key 'exceptionClas'/);
    const dry = await post('dead-letters/orders.DLT/replay', { dryRun: true });
    expect(await dry.json()).toEqual({ replayed: 0, parked: 0, skipped: 0, dryRun: true, records: [] });
    expect(((await fetch(`${url}/ops/kafka/api/dead-letters/orders.DLT`, { headers: admin }).then((r) => r.json())) as { letters: unknown[] }).letters).toEqual([]);
  });

  it('refuses a path that is not a URL path', () => {
    expect(() => KafkaConsoleModule.register({ path: 'kafka console' })).toThrow(KafkaConfigurationError);
    expect(() => KafkaConsoleModule.register({ path: 'kafka console' })).toThrow(/path must be a URL path such as 'kafka'/);
  });
});
