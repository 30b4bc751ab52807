// Pipes, guards, interceptors, exception filters and custom parameter decorators on listener methods,
// exactly as on controllers (handlers run through Nest's ExternalContextCreator).
import {
  type ArgumentsHost,
  BadRequestException,
  Catch,
  type CallHandler,
  type CanActivate,
  createParamDecorator,
  type ExceptionFilter,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  type NestInterceptor,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { IsInt, IsString, Min } from 'class-validator';
import { tap } from 'rxjs';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaContext, KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor, waitForCommit } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingErrorHandler, startApp } from '../fixtures/kafka-app.js';

class OrderDto {
  @IsInt() @Min(1) id!: number;
  @IsString() item!: string;
}

const events: string[] = [];
const received: unknown[] = [];
const handler = new RecordingErrorHandler();

@Injectable()
class TenantGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = context.switchToRpc().getContext<KafkaContext>();
    events.push(`guard:${context.getType()}:${context.getClass().name}.${context.getHandler().name}`);
    return ctx.headers['tenant']?.toString() === 'acme';
  }
}

@Injectable()
class TimingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    const offset = context.switchToRpc().getContext<KafkaContext>().offset;
    events.push(`before:${offset}`);
    return next.handle().pipe(tap(() => events.push(`after:${offset}`)));
  }
}

class Swallowed extends Error {}

@Catch(Swallowed)
class SwallowFilter implements ExceptionFilter {
  catch(error: Swallowed, host: ArgumentsHost) {
    events.push(`filter:${error.message}:${host.switchToRpc().getContext<KafkaContext>().offset}`);
    return 'handled';
  }
}

/** A custom decorator made with Nest's createParamDecorator. */
const Tenant = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  context.switchToRpc().getContext<KafkaContext>().headers['tenant']?.toString(),
);

@Injectable()
class Enhanced {
  @KafkaListener({ id: 'validated', topics: ['validated'], fromBeginning: true, errorHandler: 'EH' })
  @UsePipes(new ValidationPipe({ transform: true }))
  validated(@Payload() order: OrderDto) {
    received.push(order);
  }

  @KafkaListener({ id: 'guarded', topics: ['guarded'], fromBeginning: true, errorHandler: 'EH' })
  @UseGuards(TenantGuard)
  @UseInterceptors(TimingInterceptor)
  guarded(@Payload() v: { n: number }, @Tenant() tenant: string) {
    events.push(`handler:${v.n}:${tenant}`);
  }

  @KafkaListener({ id: 'filtered', topics: ['filtered'], fromBeginning: true, errorHandler: 'EH' })
  @UseFilters(SwallowFilter)
  filtered(@Payload() v: { fail: string }) {
    if (v.fail === 'swallowed') throw new Swallowed('quiet');
    if (v.fail === 'other') throw new Error('loud');
  }
}

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'validated' }, { name: 'guarded' }, { name: 'filtered' }] });
  app = await startApp(broker, { providers: [Enhanced, TenantGuard, { provide: 'EH', useValue: handler }] });
});
afterAll(async () => {
  await app.close();
  await broker.stop();
});

describe('enhancers on listeners', () => {
  it('a ValidationPipe turns the payload into a DTO and rejects an invalid one', async () => {
    const template = app.get(KafkaTemplate);
    await template.send('validated', { id: 0, item: 'tea' });
    await template.send('validated', { id: 2, item: 'cake' });
    await waitForCommit(broker, 'validated', 'validated', 0, 2);
    expect(received).toHaveLength(1);
    expect(received[0]).toBeInstanceOf(OrderDto);
    expect(received[0]).toEqual({ id: 2, item: 'cake' });
    const failure = handler.failures.find((f) => f.record.topic === 'validated');
    expect(failure?.error).toBeInstanceOf(BadRequestException);
    expect(failure?.record.offset).toBe(0);
  });

  it('guards see a kafka ExecutionContext; a refusal reaches the error handler as ForbiddenException; interceptors wrap the call', async () => {
    const template = app.get(KafkaTemplate);
    await template.send('guarded', { n: 1 }, { headers: { tenant: 'acme' } });
    await template.send('guarded', { n: 2 }, { headers: { tenant: 'other' } });
    await waitForCommit(broker, 'guarded', 'guarded', 0, 2);
    const mine = events.filter((e) => !e.startsWith('filter'));
    expect(mine).toEqual(['guard:kafka:Enhanced.guarded', 'before:0', 'handler:1:acme', 'after:0', 'guard:kafka:Enhanced.guarded']);
    const failure = handler.failures.find((f) => f.record.topic === 'guarded');
    expect(failure?.error).toBeInstanceOf(ForbiddenException);
    expect(failure?.record.offset).toBe(1);
  });

  it('an exception filter that handles the error makes the record a success; others go to the error handler', async () => {
    const template = app.get(KafkaTemplate);
    await template.send('filtered', { fail: 'swallowed' });
    await template.send('filtered', { fail: 'other' });
    await waitForCommit(broker, 'filtered', 'filtered', 0, 2);
    await waitFor(() => handler.failures.some((f) => f.record.topic === 'filtered'));
    expect(events).toContain('filter:quiet:0');
    const failures = handler.failures.filter((f) => f.record.topic === 'filtered');
    expect(failures.map((f) => [f.record.offset, f.error.message])).toEqual([[1, 'loud']]);
  });
});
