import { randomBytes } from 'node:crypto';
import { type CanActivate, type DynamicModule, Logger, Module, type ModuleMetadata, type Type } from '@nestjs/common';
import { KafkaConfigurationError } from '../kafka.errors.js';
import { ConsoleCsrfGuard } from './console-csrf.guard.js';
import { KAFKA_CONSOLE_OPTIONS, type ResolvedConsoleOptions } from './console.constants.js';
import { createConsoleController } from './kafka-console.controller.js';

/** Options of `KafkaConsoleModule.register`; every one is optional. */
export interface KafkaConsoleOptions {
  /** URL path of the console page; its JSON API is under `<path>/api`. @default 'kafka' */
  readonly path?: string;
  /**
   * Guards run before every console route, page and API alike (your authentication and role guards).
   * Global guards (`APP_GUARD`, `app.useGlobalGuards`) run too, before these. @default none (a warning at start-up)
   */
  readonly guards?: readonly (Type<CanActivate> | CanActivate)[];
  /** Modules the guards' dependencies come from (e.g. your `AuthModule`). @default none */
  readonly imports?: ModuleMetadata['imports'];
  /** Title of the page. @default 'kafka-nest console' */
  readonly title?: string;
  /** How long the page waits for a container's lag before showing it without. @default 2000 ms */
  readonly lagTimeoutMs?: number;
}

const PATH = /^[A-Za-z0-9._~/-]*$/;

/**
 * An operator's page for kafka-nest, off unless this module is imported (like Bull Board for BullMQ):
 * listener containers with their state and start / stop / pause / resume, lag per partition, and the dead
 * letters of each DLT with their decoded headers, with replay, park and dry-run actions
 * (`DeadLetterReplayer`). Import it next to `KafkaModule`:
 *
 * ```ts
 * imports: [KafkaModule.forRoot({ ... }), KafkaConsoleModule.register({ path: 'kafka', guards: [AdminGuard] })]
 * ```
 *
 * The page is a self-contained HTML page with its own script and stylesheet (no front-end build, nothing
 * loaded from elsewhere). Actions are POSTs that need the page's per-instance token in a custom header, a
 * JSON body and a same-origin request (see `ConsoleCsrfGuard`); every response forbids framing and any
 * script but the console's own.
 */
@Module({})
export class KafkaConsoleModule {
  static register(options: KafkaConsoleOptions = {}): DynamicModule {
    const path = (options.path ?? 'kafka').replace(/^\/+|\/+$/g, '');
    if (typeof options.path !== 'undefined' && (typeof options.path !== 'string' || !PATH.test(options.path) || path === '')) {
      throw new KafkaConfigurationError(
        `KafkaConsoleModule: path must be a URL path such as 'kafka' or 'admin/kafka' (letters, digits, '.', '_', '~', '-', '/'), got ${JSON.stringify(options.path)}`,
      );
    }
    const lagTimeoutMs = options.lagTimeoutMs ?? 2000;
    if (typeof lagTimeoutMs !== 'number' || !Number.isFinite(lagTimeoutMs) || lagTimeoutMs <= 0) {
      throw new KafkaConfigurationError(`KafkaConsoleModule: lagTimeoutMs must be a finite number of milliseconds > 0, got ${String(lagTimeoutMs)}`);
    }
    const guards = options.guards ?? [];
    if (!Array.isArray(guards) || guards.some((g) => typeof g !== 'function' && typeof (g as CanActivate)?.canActivate !== 'function')) {
      throw new KafkaConfigurationError('KafkaConsoleModule: guards must be an array of guard classes or instances (with canActivate)');
    }
    if (guards.length === 0) {
      new Logger('KafkaConsoleModule').warn(
        `the kafka-nest console at /${path} has no guards: whoever reaches this HTTP server can stop listeners and replay dead letters; pass guards: [YourAuthGuard]`,
      );
    }
    const resolved: ResolvedConsoleOptions = {
      title: options.title ?? 'kafka-nest console',
      token: randomBytes(24).toString('base64url'),
      lagTimeoutMs,
    };
    return {
      module: KafkaConsoleModule,
      imports: [...(options.imports ?? [])],
      controllers: [createConsoleController(path, guards)],
      providers: [{ provide: KAFKA_CONSOLE_OPTIONS, useValue: resolved }, ConsoleCsrfGuard],
    };
  }
}
