// Global enhancers (APP_GUARD, APP_INTERCEPTOR) apply to listener methods that carry no enhancer of their own,
// as they apply to every controller: the container must not take its direct path for such a method.
import { type CallHandler, type CanActivate, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { tap } from 'rxjs';
import { KafkaContext, KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { waitForCommit } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { brokerPerTest, RecordingErrorHandler, startApp } from '../fixtures/kafka-app.js';

const env = brokerPerTest({ topics: [{ name: 'global-enhanced' }] });

describe('global enhancers on listeners', () => {
  it('an APP_GUARD refuses and an APP_INTERCEPTOR wraps a listener method without enhancers of its own', async () => {
    const events: string[] = [];
    const handler = new RecordingErrorHandler();

    @Injectable()
    class TenantGuard implements CanActivate {
      canActivate(context: ExecutionContext): boolean {
        return context.switchToRpc().getContext<KafkaContext>().headers['tenant']?.toString() === 'acme';
      }
    }

    @Injectable()
    class Around implements NestInterceptor {
      intercept(context: ExecutionContext, next: CallHandler) {
        const offset = context.switchToRpc().getContext<KafkaContext>().offset;
        events.push(`before:${offset}`);
        return next.handle().pipe(tap(() => events.push(`after:${offset}`)));
      }
    }

    @Injectable()
    class Plain {
      @KafkaListener({ id: 'global-enhanced', topics: ['global-enhanced'], fromBeginning: true, errorHandler: 'EH' })
      handle(@Payload() v: { n: number }) {
        events.push(`handler:${v.n}`);
      }
    }

    env.app = await startApp(env.broker, {
      providers: [Plain, { provide: APP_GUARD, useClass: TenantGuard }, { provide: APP_INTERCEPTOR, useClass: Around }, { provide: 'EH', useValue: handler }],
    });
    const template = env.app.get(KafkaTemplate);
    await template.send('global-enhanced', { n: 1 }, { headers: { tenant: 'acme' } });
    await template.send('global-enhanced', { n: 2 }, { headers: { tenant: 'other' } });
    await waitForCommit(env.broker, 'global-enhanced', 'global-enhanced', 0, 2);

    expect(events).toEqual(['before:0', 'handler:1', 'after:0']);
    expect(handler.failures.map((f) => [f.record.offset, f.error.constructor.name])).toEqual([[1, 'ForbiddenException']]);
  });
});
