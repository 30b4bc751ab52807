/**
 * The console's HTTP routes, made per `KafkaConsoleModule.register` call so that the path and the guards
 * are the application's: GET the page, its script and stylesheet, and the JSON state; POST the actions.
 */
import {
  BadRequestException,
  Body,
  type CanActivate,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { deadLetterToJSON } from '../dead-letters/dead-letter.js';
import { type DeadLetterFilter, DeadLetterReplayer, DeadLetterReplayError } from '../dead-letters/dead-letter-replayer.js';
import { ListenerContainerNotFoundError } from '../kafka.errors.js';
import { KafkaListenerEndpointRegistry } from '../listener/kafka-listener-endpoint.registry.js';
import { ConsoleCsrfGuard } from './console-csrf.guard.js';
import { KAFKA_CONSOLE_OPTIONS, type ResolvedConsoleOptions } from './console.constants.js';
import { consolePage, CONSOLE_SCRIPT, CONSOLE_STYLE } from './console-page.js';


/** Content-Security-Policy of every console response: only the console's own script and stylesheet run. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ACTIONS = ['start', 'stop', 'pause', 'resume'] as const;

interface ActionBody {
  readonly filter?: DeadLetterFilter;
  readonly dryRun?: boolean;
  readonly limit?: number;
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')))]);
  } finally {
    clearTimeout(timer);
  }
}

function problem(err: unknown): never {
  if (err instanceof DeadLetterReplayError) throw new BadRequestException(err.message);
  if (err instanceof ListenerContainerNotFoundError) throw new NotFoundException(err.message);
  throw err;
}

function actionBody(body: unknown): ActionBody {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestException('the body must be a JSON object: { filter?, dryRun?, limit? }');
  const { filter, dryRun, limit, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new BadRequestException(`unknown field '${unknown[0]}'; the body takes filter, dryRun and limit`);
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new BadRequestException('dryRun must be true or false');
  return { ...(filter !== undefined && { filter: filter as DeadLetterFilter }), ...(dryRun !== undefined && { dryRun }), ...(limit !== undefined && { limit: limit as number }) };
}

/** The controller class for one console mount: `path` and the application's `guards`. */
export function createConsoleController(path: string, guards: readonly (Type<CanActivate> | CanActivate)[]): Type<unknown> {
  @Controller(path)
  @UseGuards(...guards)
  class KafkaConsoleController {
    constructor(
      @Inject(KafkaListenerEndpointRegistry) private readonly registry: KafkaListenerEndpointRegistry,
      @Inject(DeadLetterReplayer) private readonly replayer: DeadLetterReplayer,
      @Inject(KAFKA_CONSOLE_OPTIONS) private readonly options: ResolvedConsoleOptions,
    ) {}

    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Content-Security-Policy', CSP)
    @Header('X-Frame-Options', 'DENY')
    @Header('Cache-Control', 'no-store')
    @Header('Referrer-Policy', 'same-origin')
    page(@Req() req: { originalUrl?: string; url?: string }): string {
      // The path the page was asked by (with any global prefix), so its script and API calls go to the same place.
      const base = (req.originalUrl ?? req.url ?? `/${path}`).split('?')[0].replace(/\/+$/, '');
      return consolePage(this.options.title, this.options.token, base);
    }

    @Get('console.js')
    @Header('Content-Type', 'text/javascript; charset=utf-8')
    @Header('Cache-Control', 'no-store')
    script(): string {
      return CONSOLE_SCRIPT;
    }

    @Get('console.css')
    @Header('Content-Type', 'text/css; charset=utf-8')
    @Header('Cache-Control', 'no-store')
    style(): string {
      return CONSOLE_STYLE;
    }

    /** Listener containers with their state and lag per partition, and the dead-letter topics. */
    @Get('api/state')
    @Header('Cache-Control', 'no-store')
    async state() {
      const containers = await Promise.all(
        this.registry.getListenerContainers().map(async (c) => {
          let lag: unknown;
          let lagError: string | undefined;
          try {
            const read = await within(c.lag(), this.options.lagTimeoutMs);
            if (read === 'timeout') lagError = `no answer within ${this.options.lagTimeoutMs} ms`;
            else lag = read;
          } catch (err) {
            lagError = err instanceof Error ? err.message : String(err);
          }
          return {
            id: c.id,
            groupId: c.groupId,
            listener: c.listener,
            running: c.isRunning(),
            paused: c.isPaused(),
            assigned: c.assignedPartitions(),
            lag: lag ?? [],
            ...(lagError !== undefined && { lagError }),
          };
        }),
      );
      let deadLetterTopics: string[] = [];
      let deadLetterTopicsError: string | undefined;
      try {
        deadLetterTopics = await this.replayer.deadLetterTopics();
      } catch (err) {
        deadLetterTopicsError = err instanceof Error ? err.message : String(err);
      }
      return { containers, deadLetterTopics, ...(deadLetterTopicsError !== undefined && { deadLetterTopicsError }), maxReplays: this.replayer.maxReplays };
    }

    @Post('api/containers/:id/:action')
    @UseGuards(ConsoleCsrfGuard)
    @HttpCode(200)
    async container(@Param('id') id: string, @Param('action') action: string, @Body() _body: unknown) {
      if (!(ACTIONS as readonly string[]).includes(action)) throw new NotFoundException(`unknown action '${action}'; use ${ACTIONS.join(', ')}`);
      try {
        const c = this.registry.getListenerContainer(id);
        if (action === 'start') await c.start();
        else if (action === 'stop') await c.stop();
        else if (action === 'pause') c.pause();
        else c.resume();
        return { id, running: c.isRunning(), paused: c.isPaused() };
      } catch (err) {
        problem(err);
      }
    }

    @Get('api/dead-letters/:topic')
    @Header('Cache-Control', 'no-store')
    async deadLetters(@Param('topic') topic: string, @Query('limit') limit?: string, @Query('partition') partition?: string, @Query('pending') pending?: string) {
      const n = (v: string | undefined, what: string) => {
        if (v === undefined) return undefined;
        if (!/^\d+$/.test(v)) throw new BadRequestException(`${what} must be a non-negative integer, got '${v}'`);
        return Number(v);
      };
      try {
        const letters = await this.replayer.list({ dltTopic: topic, pendingOnly: pending === 'true', ...(limit !== undefined && { limit: n(limit, 'limit') }), ...(partition !== undefined && { partition: n(partition, 'partition') }) });
        return { topic, replayGroup: this.replayer.replayGroupOf(topic), maxReplays: this.replayer.maxReplays, letters: letters.map(deadLetterToJSON) };
      } catch (err) {
        problem(err);
      }
    }

    @Post('api/dead-letters/:topic/replay')
    @UseGuards(ConsoleCsrfGuard)
    @HttpCode(200)
    async replay(@Param('topic') topic: string, @Body() body: unknown) {
      try {
        return await this.replayer.replay({ dltTopic: topic, ...actionBody(body) });
      } catch (err) {
        problem(err);
      }
    }

    @Post('api/dead-letters/:topic/park')
    @UseGuards(ConsoleCsrfGuard)
    @HttpCode(200)
    async park(@Param('topic') topic: string, @Body() body: unknown) {
      try {
        return await this.replayer.park({ dltTopic: topic, ...actionBody(body) });
      } catch (err) {
        problem(err);
      }
    }
  }
  return KafkaConsoleController;
}
