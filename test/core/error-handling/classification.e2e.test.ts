/**
 * Issue 11 item 3, end to end: which errors DefaultErrorHandler retries by default. A `fetch()` that cannot
 * connect (`TypeError: fetch failed`, the network error as cause) is retried with the back-off; a guard's
 * refusal is dead-lettered on its first delivery; a global catch-all HTTP exception filter that itself throws
 * does not replace the listener's error, and is named in one warning.
 */
import { createServer } from 'node:net';
import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  Injectable,
  Module,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DeadLetterPublishingRecoverer, DefaultErrorHandler, DltHeaders, FixedBackOff, KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { getSingleRecord, waitForCommit } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { brokerPerTest, CapturingLogger, startApp } from '../../fixtures/kafka-app.js';
import { headersOf } from './e2e-support.js';

const ERROR_HANDLER = 'CLASSIFICATION_EH';
const env = brokerPerTest({ topics: [{ name: 'orders' }] });

const errorHandler = {
  provide: ERROR_HANDLER,
  inject: [KafkaTemplate],
  useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(0, 2)),
};

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

class OrderRejectedError extends Error {
  override name = 'OrderRejectedError';
}

describe('DefaultErrorHandler: default classification, end to end', () => {
  it("retries a fetch() that cannot connect (TypeError: fetch failed) with the back-off before dead-lettering it", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/stock`;
    const errors: Error[] = [];
    @Injectable()
    class StockListener {
      @KafkaListener({ id: 'stock', topics: ['orders'], groupId: 'stock', fromBeginning: true, errorHandler: ERROR_HANDLER })
      async onOrder(@Payload() _order: unknown) {
        try {
          await fetch(url);
        } catch (err) {
          errors.push(err as Error);
          throw err;
        }
      }
    }
    env.app = await startApp(env.broker, { providers: [errorHandler, StockListener] });
    await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' });

    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    expect(errors).toHaveLength(3);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(errors[0]!.message).toBe('fetch failed');
    expect(headersOf(dead)[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('TypeError'));
  });

  it("dead-letters a record a guard refuses on its first delivery (ForbiddenException is not retried)", async () => {
    let checks = 0;
    @Injectable()
    class TenantGuard implements CanActivate {
      canActivate(): boolean {
        checks++;
        return false;
      }
    }
    @Injectable()
    class GuardedListener {
      @KafkaListener({ id: 'guarded', topics: ['orders'], groupId: 'guarded', fromBeginning: true, errorHandler: ERROR_HANDLER })
      @UseGuards(TenantGuard)
      onOrder(@Payload() _order: unknown) {}
    }
    env.app = await startApp(env.broker, { providers: [errorHandler, GuardedListener] });
    await env.app.get(KafkaTemplate).send('orders', { id: 'o-2' });

    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    await waitForCommit(env.broker, 'guarded', 'orders', 0, 1);
    expect(checks).toBe(1);
    expect(headersOf(dead)[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('ForbiddenException'));
  });

  it("keeps the listener's error when a global catch-all HTTP filter throws, and names the filter in one warning", async () => {
    @Catch()
    class AllExceptionsFilter implements ExceptionFilter {
      catch(_error: unknown, host: ArgumentsHost) {
        // Written for HTTP: in a Kafka listener there is no response with a status() to call.
        host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>().status(500).json({ error: 'internal' });
      }
    }
    let deliveries = 0;
    @Injectable()
    class OrdersListener {
      @KafkaListener({ id: 'filtered', topics: ['orders'], groupId: 'filtered', fromBeginning: true, errorHandler: ERROR_HANDLER })
      onOrder(@Payload() _order: unknown) {
        deliveries++;
        throw new OrderRejectedError('credit limit exceeded');
      }
    }
    const logger = new CapturingLogger();
    env.app = await startApp(env.broker, { providers: [errorHandler, OrdersListener, { provide: APP_FILTER, useClass: AllExceptionsFilter }], logger });
    await env.app.get(KafkaTemplate).send('orders', { id: 'o-3' });

    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    expect(deliveries).toBe(3);
    const h = headersOf(dead);
    expect(h[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('OrderRejectedError'));
    expect(h[DltHeaders.EXCEPTION_MESSAGE]).toEqual(Buffer.from('credit limit exceeded'));
    const warnings = logger.lines('warn').filter((l) => l.includes('exception filter'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('exception filter AllExceptionsFilter threw while handling OrderRejectedError from listener OrdersListener.onOrder');
  });
  it('keeps the error of a listener that lives in a controller when a filter on it throws', async () => {
    @Catch()
    class HttpOnlyFilter implements ExceptionFilter {
      catch(_error: unknown, host: ArgumentsHost) {
        host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>().status(500).json({ error: 'internal' });
      }
    }
    @Controller()
    @UseFilters(HttpOnlyFilter)
    class OrdersController {
      @KafkaListener({ id: 'controller-filtered', topics: ['orders'], groupId: 'controller-filtered', fromBeginning: true, errorHandler: ERROR_HANDLER })
      onOrder(@Payload() _order: unknown) {
        throw new OrderRejectedError('over the limit');
      }
    }
    @Module({ controllers: [OrdersController] })
    class OrdersModule {}
    const logger = new CapturingLogger();
    env.app = await startApp(env.broker, { providers: [errorHandler], imports: [OrdersModule], logger });
    await env.app.get(KafkaTemplate).send('orders', { id: 'o-4' });

    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    expect(headersOf(dead)[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('OrderRejectedError'));
    expect(logger.lines('warn').filter((l) => l.includes('exception filter HttpOnlyFilter threw while handling OrderRejectedError from listener OrdersController.onOrder'))).toHaveLength(1);
  });
});
