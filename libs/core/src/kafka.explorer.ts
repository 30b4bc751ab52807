/**
 * Finds `@KafkaListener` methods on every provider once, in `onModuleInit`, builds and validates their
 * endpoints and registers one container per listener; starts the containers in `onApplicationBootstrap`
 * and drains them when the application closes, before any provider's `onModuleDestroy` runs (see
 * `drainBeforeDestroy`). Internal.
 */
import {
  Inject,
  Injectable,
  type InjectionToken,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
  Optional,
  type ParamData,
} from '@nestjs/common';
import { type ApplicationConfig, DiscoveryService, type ParamsFactory, ExternalContextCreator, MetadataScanner, ModuleRef, ModulesContainer } from '@nestjs/core';
import type { CommonErrorHandler } from './error-handling/common-error-handler.js';
import { DefaultErrorHandler } from './error-handling/default-error-handler.js';
import {
  CUSTOM_ROUTE_ARGS_METADATA,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  KAFKA_CONTEXT_TYPE,
  KAFKA_MODULE_OPTIONS,
  KAFKA_PARAMS_METADATA,
  PIPES_METADATA,
  SEND_TO_METADATA,
} from './kafka.constants.js';
import type { SendToMetadata } from './decorators/send-to.decorator.js';
import { KafkaConfigurationError, KafkaNestError } from './kafka.errors.js';
import { KafkaMetadataAccessor } from './kafka-metadata.accessor.js';
import type { KafkaModuleOptions } from './kafka-module-options.interface.js';
import { AckMode } from './listener/ack-mode.js';
import { CONSUMER_PROPERTY_NAMES, resolveConsumerProperties } from './listener/consumer-properties.js';
import { didYouMean } from './listener/did-you-mean.js';
import { deserializerFn, type Deserializer } from './listener/deserializers.js';
import { KafkaListenerContainer } from './listener/kafka-listener.container.js';
import { KafkaListenerEndpointRegistry } from './listener/kafka-listener-endpoint.registry.js';
import { checkListenerOptionNames, type KafkaListenerOptions } from './listener/kafka-listener-options.js';
import { KafkaParamsFactory, type ListenerInvocation } from './listener/kafka-params.factory.js';
import { patternMethodsOf, RpcParams } from './microservices/pattern-handlers.js';
import type { ContainerEnvironment, ListenerEndpoint } from './listener/listener-endpoint.js';
import { type FilterRef, ListenerErrorProxy } from './listener/listener-error-proxy.js';
import { KAFKA_OBSERVER } from './metrics/kafka-metrics.js';
import type { KafkaObserver } from './metrics/kafka-observer.js';
import { RetryTopicConfigurer } from './retry-topic/retry-topic.configurer.js';
import { KafkajsTransport } from './transport/kafkajs.transport.js';
import { bindKafkaNestServer, type KafkaNestRuntime } from './microservices/kafka-nest.runtime.js';
import { KafkaTemplate } from './producer/kafka.template.js';
import { sendToInvoker } from './request-reply/send-to.invoker.js';

/** How listener methods take their parameters, and the `ExecutionContext` type enhancers see. */
interface InvokerFlavour {
  readonly factory: ParamsFactory & { valueFor(type: number, data: ParamData | undefined, payload: unknown, ctx: unknown, invocation: ListenerInvocation): unknown };
  readonly type: string;
}

/** Kafka's legal topic names: 1..249 of `[a-zA-Z0-9._-]`, not `.` or `..`. */
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

const ACK_MODES = Object.values(AckMode) as string[];

function describeToken(token: InjectionToken): string {
  return typeof token === 'function' ? token.name : String(token);
}

function checkDeserializer(d: unknown, option: string, problem: (m: string) => Error): Deserializer | undefined {
  if (d === undefined || typeof d === 'function' || d === 'json' || d === 'string' || d === 'buffer') return d as Deserializer | undefined;
  throw problem(`'${option}' must be 'json', 'string', 'buffer' or a function, got ${JSON.stringify(d)}`);
}

@Injectable()
export class KafkaExplorer implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('KafkaExplorer');
  private readonly kafkaFlavour: InvokerFlavour = { factory: new KafkaParamsFactory(), type: KAFKA_CONTEXT_TYPE };
  /** `@EventPattern` / `@MessagePattern` methods: Nest's RPC parameters and `getType() === 'rpc'`. */
  private readonly rpcFlavour: InvokerFlavour = { factory: new RpcParams(), type: 'rpc' };
  private readonly containers: KafkaListenerContainer[] = [];
  private bootstrapped = false;

  constructor(
    @Inject(KAFKA_MODULE_OPTIONS) private readonly options: KafkaModuleOptions,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: KafkaMetadataAccessor,
    private readonly externalContextCreator: ExternalContextCreator,
    private readonly moduleRef: ModuleRef,
    private readonly registry: KafkaListenerEndpointRegistry,
    private readonly retryTopics: RetryTopicConfigurer,
    private readonly template: KafkaTemplate,
    private readonly modules: ModulesContainer,
    @Optional() @Inject(KAFKA_OBSERVER) private readonly observer?: KafkaObserver,
  ) {}

  onModuleInit(): void {
    const env: ContainerEnvironment = {
      client: this.options.client,
      transport: this.options.transport ?? new KafkajsTransport(),
      shutdownTimeoutMs: this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
      startupTimeoutMs: this.startupTimeoutMs(),
      observer: this.observer,
      ...(this.options.transactionIdPrefix !== undefined && { transactions: () => this.moduleRef.get(KafkaTemplate, { strict: false }).transactionalProducers() }),
    };
    // A KafkaNestServer (app.connectMicroservice / createMicroservice) serves its handlers through this
    // explorer's containers; Nest lists it among the application's RPC targets.
    let servers = 0;
    this.modules.getRpcTargetRegistry().subscribe((target) => {
      if (bindKafkaNestServer(target, this.runtime(env))) servers++;
    });
    const seen = new Set<object>();
    // Listeners may sit on providers or on controllers (where @nestjs/microservices puts its @EventPattern handlers).
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
      if (!wrapper.isDependencyTreeStatic()) {
        // Request-scoped and transient providers have no single instance to listen with.
        const proto = (wrapper.metatype as { prototype?: object } | null)?.prototype;
        const named = proto ? this.scanner.getAllMethodNames(proto).filter((m) => this.accessor.getListeners((proto as Record<string, Function>)[m]).length) : [];
        if (named.length) {
          this.logger.warn(
            `@KafkaListener on ${wrapper.name}.${named.join(', ')} is ignored: ${wrapper.name} is request-scoped or transient (or depends on such a provider); make it a singleton (default scope) to listen`,
          );
        }
        continue;
      }
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance);
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const listeners = this.accessor.getListeners(prototype[methodName]);
        listeners.forEach((opts, n) => {
          const listener = `${instance.constructor?.name ?? 'Object'}.${methodName}`;
          const endpoint = this.withSendTo(this.buildEndpoint(listener, opts, n, this.invoker(instance, methodName)), prototype[methodName]);
          // With @RetryableTopic, one listener becomes main + retry + dead-letter endpoints.
          const invoker = (name: string) => this.invoker(instance, name);
          for (const e of this.retryTopics.expand(endpoint, { instance, methodName, options: opts, invoker })) {
            const container = new KafkaListenerContainer(e, env);
            this.registry.register(container);
            this.containers.push(container);
          }
        });
      }
    }
    if (this.containers.length || servers) this.drainBeforeDestroy();
  }

  /** What a KafkaNestServer needs of this application: endpoints built and validated as listeners', and containers. */
  private runtime(env: ContainerEnvironment): KafkaNestRuntime {
    return {
      endpoint: (listener, opts, invoke) => this.buildEndpoint(listener, opts, 0, invoke),
      patternMethods: () =>
        this.discovery
          .getControllers()
          .filter((w) => w.isDependencyTreeStatic() && w.instance && typeof w.instance === 'object')
          .flatMap((w) => patternMethodsOf(w.instance as object, this.scanner.getAllMethodNames(Object.getPrototypeOf(w.instance)))),
      invoker: (instance, methodName) => this.invoker(instance, methodName, this.rpcFlavour),
      expand: (endpoint, { instance, methodName }, options) =>
        this.retryTopics.expand(endpoint, { instance, methodName, options, invoker: (name) => this.invoker(instance, name) }),
      start: async (endpoints) => {
        const created = endpoints.map((e) => new KafkaListenerContainer(e, env));
        for (const c of created) {
          this.registry.register(c);
          this.containers.push(c);
        }
        // Before the application's bootstrap (a hybrid app starts its microservices first), they start with the others.
        if (this.bootstrapped) await this.startAll(created.filter((c) => c.autoStartup));
        return created;
      },
      template: this.template,
    };
  }

  /** The endpoint of a `@SendTo` method replies with its result. */
  private withSendTo(endpoint: ListenerEndpoint, method: Function): ListenerEndpoint {
    const sendTo = Reflect.getMetadata(SEND_TO_METADATA, method) as SendToMetadata | undefined;
    if (!sendTo) return endpoint;
    if (endpoint.batch) {
      throw new KafkaConfigurationError(`@SendTo on ${endpoint.listener}: replies are sent for record listeners only; remove 'batch: true' or @SendTo`, endpoint.listener);
    }
    if (sendTo.topic !== undefined && (typeof sendTo.topic !== 'string' || !LEGAL_TOPIC.test(sendTo.topic))) {
      throw new KafkaConfigurationError(
        `@SendTo on ${endpoint.listener}: ${JSON.stringify(sendTo.topic)} is not a legal Kafka topic name; give 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-', or @SendTo() to reply to the request's kafka_replyTopic`,
        endpoint.listener,
      );
    }
    return { ...endpoint, invoke: sendToInvoker(endpoint.invoke, sendTo, this.template, endpoint.listener) };
  }

  /**
   * Starts the `autoStartup` containers in parallel. When one cannot start, the others are stopped again
   * (a failed start-up leaves nothing consuming) and its error is thrown; several: one error naming each.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.bootstrapped = true;
    await this.startAll(this.containers.filter((c) => c.autoStartup));
  }

  private async startAll(starting: KafkaListenerContainer[]): Promise<void> {
    const results = await Promise.allSettled(starting.map((c) => c.start()));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length === 0) return;
    await Promise.all(starting.map((c) => c.stop()));
    if (failures.length === 1) throw failures[0];
    const lines = failures.map((e) => `- ${e instanceof Error ? e.message : String(e)}`);
    throw new KafkaNestError(`${failures.length} listeners could not start:\n${lines.join('\n')}`, { cause: new AggregateError(failures) });
  }

  private startupTimeoutMs(): number | undefined {
    const value = this.options.startupTimeoutMs;
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new KafkaConfigurationError(
        `KafkaModule option 'startupTimeoutMs' must be a positive number of milliseconds (above the listeners' session.timeout.ms), got ${JSON.stringify(value)}`,
      );
    }
    return value;
  }

  async onModuleDestroy(): Promise<void> {
    await this.stopContainers();
  }

  private async stopContainers(): Promise<void> {
    await Promise.all(this.containers.map((c) => c.stop()));
  }

  /**
   * Nest 12's `close()` calls `onModuleDestroy` module by module, the root module first and global modules
   * (KafkaModule is one) last, then `beforeApplicationShutdown` and `onApplicationShutdown`: no hook of
   * the explorer runs before the application's `onModuleDestroy` hooks, where a pool closes while handlers
   * still use it. Spring stops its containers before destroying beans; to do the same, every other
   * provider's (and controller's, and module class's) `onModuleDestroy` first waits for the containers to
   * stop. `stop()` is shared by concurrent callers, so the first hook called drains and the others wait.
   */
  private drainBeforeDestroy(): void {
    const wrapped = new WeakSet<object>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
      if (!instance || typeof instance !== 'object' || instance === this || wrapped.has(instance)) continue;
      const destroy = (instance as Partial<OnModuleDestroy>).onModuleDestroy;
      if (typeof destroy !== 'function') continue;
      wrapped.add(instance);
      Object.defineProperty(instance, 'onModuleDestroy', {
        configurable: true,
        writable: true,
        value: async () => {
          await this.stopContainers();
          return destroy.call(instance);
        },
      });
    }
  }

  private buildEndpoint(listener: string, opts: KafkaListenerOptions, n: number, invoke: ListenerEndpoint['invoke']): ListenerEndpoint {
    const problem = (message: string) =>
      new KafkaConfigurationError(`${listener.startsWith('@') ? listener : `@KafkaListener on ${listener}`}${opts.id ? ` (id '${opts.id}')` : ''}: ${message}`, listener);
    if (opts === null || typeof opts !== 'object') throw problem('options are required: @KafkaListener({ topics: [...] })');
    checkListenerOptionNames(opts, CONSUMER_PROPERTY_NAMES, didYouMean, problem);

    const id = opts.id ?? (n === 0 ? listener : `${listener}#${n}`);
    if (typeof id !== 'string' || id === '') throw problem(`'id' must be a non-empty string`);

    const { topics, topicPattern } = opts;
    let pattern: RegExp | undefined;
    if (topics !== undefined && topicPattern !== undefined) throw problem(`give 'topics' or 'topicPattern', not both`);
    if (topicPattern !== undefined) {
      if (typeof topicPattern === 'string') {
        try {
          pattern = new RegExp(topicPattern);
        } catch (err) {
          throw problem(`'topicPattern' ${JSON.stringify(topicPattern)} is not a valid regular expression (${(err as Error).message}); fix the pattern`);
        }
      } else if (topicPattern instanceof RegExp) {
        pattern = topicPattern;
      } else {
        throw problem(`'topicPattern' must be a RegExp, got ${typeof topicPattern}`);
      }
      if (pattern.global || pattern.sticky) {
        throw problem(`'topicPattern' ${pattern} has the 'g' or 'y' flag, which makes matching stateful; remove the flag`);
      }
    } else {
      if (!Array.isArray(topics) || topics.length === 0) {
        throw problem(`no topics: give 'topics: ["name", ...]' or 'topicPattern: /regex/'`);
      }
      for (const t of topics) {
        if (typeof t !== 'string' || !LEGAL_TOPIC.test(t) || t === '.' || t === '..') {
          throw problem(
            `topic ${JSON.stringify(t)} is not a legal Kafka topic name; use 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-' (not '.' or '..')`,
          );
        }
      }
    }

    // A string or number where a boolean goes ('false' from a config file) would count as its truthiness.
    const flag = (name: string, value: unknown, fallback: boolean, where = ''): boolean => {
      if (value === undefined) return fallback;
      if (typeof value !== 'boolean') throw problem(`'${name}'${where} must be true or false, got ${JSON.stringify(value) ?? String(value)}`);
      return value;
    };
    const batch = flag('batch', opts.batch, false);
    const autoStartup = flag('autoStartup', opts.autoStartup, true);
    const fromBeginningOption = flag('fromBeginning', opts.fromBeginning, false);
    const syncCommits = flag('syncCommits', opts.syncCommits, flag('syncCommits', this.options.syncCommits, true, ' (KafkaModule option)'));

    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw problem(`'concurrency' must be an integer of at least 1, got ${JSON.stringify(concurrency)}`);
    const ackMode = opts.ackMode ?? this.options.ackMode ?? AckMode.BATCH;
    if (!ACK_MODES.includes(ackMode)) throw problem(`'ackMode' must be one of ${ACK_MODES.join(', ')}, got ${JSON.stringify(ackMode)}`);
    const groupId = opts.groupId ?? id;
    if (typeof groupId !== 'string' || groupId === '') throw problem(`'groupId' must be a non-empty string`);

    // With transactions on, listeners read only committed records unless told otherwise (exactly-once pipelines).
    const isolation = { 'isolation.level': this.options.transactionIdPrefix !== undefined ? 'read_committed' : 'read_uncommitted' };
    const properties = resolveConsumerProperties({ ...isolation, ...(this.options.properties ?? {}), ...(opts.properties ?? {}) }, problem);
    const reset = opts['auto.offset.reset'] ?? properties.autoOffsetReset;
    if (reset !== undefined && reset !== 'earliest' && reset !== 'latest') {
      throw problem(`'auto.offset.reset' must be 'earliest' or 'latest', got ${JSON.stringify(reset)}`);
    }
    const fromBeginning = reset !== undefined ? reset === 'earliest' : fromBeginningOption;

    const value = checkDeserializer(opts.deserializer ?? this.options.deserializer, 'deserializer', problem) ?? 'json';
    const key = checkDeserializer(opts.keyDeserializer ?? this.options.keyDeserializer, 'keyDeserializer', problem) ?? 'string';

    const errorHandler = this.resolveErrorHandler(opts.errorHandler ?? this.options.errorHandler, id, problem);

    return {
      id,
      groupId,
      listener,
      ...(pattern ? { topicPattern: pattern } : { topics: [...(topics as string[])] }),
      concurrency,
      batch,
      autoStartup,
      fromBeginning,
      ackMode,
      syncCommits,
      properties,
      valueDeserializer: deserializerFn(value),
      keyDeserializer: deserializerFn(key),
      errorHandler,
      invoke,
    };
  }

  /**
   * The listener method behind Nest's `ExternalContextCreator` (pipes, guards, interceptors, filters). When
   * no enhancer applies to the method (none on it, its class, its parameters, nor global ones), the method
   * is called straight with the same arguments: the same behaviour without a dozen promise hops per record.
   */
  private invoker(instance: object, methodName: string, flavour: InvokerFlavour = this.kafkaFlavour): ListenerEndpoint['invoke'] {
    const method = (instance as Record<string, (...args: unknown[]) => unknown>)[methodName];
    if (!this.hasEnhancers(instance, method, methodName)) {
      const params = this.paramsOf(instance, methodName);
      const { factory } = flavour;
      if (params.length === 0) return (payload, ctx) => method.call(instance, payload, ctx);
      const length = Math.max(...params.map((p) => p.index)) + 1;
      if (params.length === 1 && params[0].index === 0) {
        const [{ type, data }] = params;
        return (payload, ctx, invocation) => method.call(instance, factory.valueFor(type, data as string, payload, ctx, invocation));
      }
      return (payload, ctx, invocation) => {
        const args = new Array<unknown>(length);
        for (const p of params) args[p.index] = factory.valueFor(p.type, p.data as string, payload, ctx, invocation);
        return method.apply(instance, args);
      };
    }
    const create = () =>
      this.contextCreator().create(
        instance,
        method,
        methodName,
        KAFKA_PARAMS_METADATA,
        flavour.factory,
        undefined,
        undefined,
        // Without exception filters to run, errors go straight to the error handler: Nest's fallback filter
        // would log every failed delivery as an uncaught exception, before the error handler decides anything.
        { guards: true, interceptors: true, filters: this.hasFilters(instance, method) },
        flavour.type,
      ) as ListenerEndpoint['invoke'];
    // A filter that fails must not replace the listener's error: Nest's error proxy is swapped for ours
    // while `create` builds this listener's invoker (it is read synchronously, once, in `create`; the
    // controller-aware creator inherits the field from Nest's).
    const creator = this.externalContextCreator as unknown as { externalErrorProxy?: unknown };
    if (!('externalErrorProxy' in creator)) return create();
    const nests = creator.externalErrorProxy;
    const listener = `${instance.constructor?.name ?? 'Object'}.${methodName}`;
    creator.externalErrorProxy = new ListenerErrorProxy(listener, () => this.filtersOf(instance, method));
    try {
      return create();
    } finally {
      creator.externalErrorProxy = nests;
    }
  }

  /** The exception filters of a listener in the order Nest tries them: method, class, then global ones, the last declared first. */
  private filtersOf(instance: object, method: Function): FilterRef[] {
    const config = (this.externalContextCreator as unknown as { container?: { applicationConfig?: ApplicationConfig } }).container?.applicationConfig;
    const meta = (t: object) => (Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, t) as FilterRef[] | undefined) ?? [];
    return [...(config?.getGlobalFilters() ?? []), ...meta(instance.constructor), ...meta(method)].reverse();
  }

  /**
   * Nest's `ExternalContextCreator` looks for the module of a method's class among modules' providers only;
   * for a controller (where `@EventPattern` handlers, and some listeners, live) it finds none, and enhancers
   * given by class (`@UseInterceptors(AuditInterceptor)`) then resolve to nothing. This one also looks among
   * the modules' controllers.
   */
  private contextCreator(): ExternalContextCreator {
    if (this.controllerAwareCreator) return this.controllerAwareCreator;
    const base = this.externalContextCreator;
    const modules = this.modules;
    const ownKey = (base as unknown as { getContextModuleKey(ctor: Function | undefined): string }).getContextModuleKey;
    if (typeof ownKey !== 'function') return base;
    this.controllerAwareCreator = Object.create(base, {
      getContextModuleKey: {
        value(ctor: Function | undefined): string {
          const key = ownKey.call(base, ctor);
          if (key || !ctor) return key;
          for (const [k, moduleRef] of modules.entries()) if (moduleRef.controllers.has(ctor)) return k;
          return '';
        },
      },
    }) as ExternalContextCreator;
    return this.controllerAwareCreator;
  }

  private controllerAwareCreator: ExternalContextCreator | undefined;

  private paramsOf(instance: object, methodName: string): { index: number; type: number; data: string | undefined; key: string; pipes: unknown[] }[] {
    const meta: Record<string, { index: number; data?: string; pipes?: unknown[] }> =
      Reflect.getMetadata(KAFKA_PARAMS_METADATA, instance.constructor, methodName) ?? {};
    return Object.entries(meta).map(([key, v]) => ({ key, index: v.index, type: Number(key.split(':')[0]), data: v.data, pipes: v.pipes ?? [] }));
  }

  private hasFilters(instance: object, method: Function): boolean {
    const local = [method, instance.constructor].some((t) => (Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, t) as unknown[] | undefined)?.length);
    const config = (this.externalContextCreator as unknown as { container?: { applicationConfig?: ApplicationConfig } }).container?.applicationConfig;
    return local || !config || config.getGlobalFilters().length + config.getGlobalRequestFilters().length > 0;
  }

  private hasEnhancers(instance: object, method: Function, methodName: string): boolean {
    const keys = [GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, EXCEPTION_FILTERS_METADATA];
    for (const key of keys) {
      if ((Reflect.getMetadata(key, method) as unknown[] | undefined)?.length) return true;
      if ((Reflect.getMetadata(key, instance.constructor) as unknown[] | undefined)?.length) return true;
    }
    for (const p of this.paramsOf(instance, methodName)) {
      if (p.key.includes(CUSTOM_ROUTE_ARGS_METADATA) || p.pipes.length || Number.isNaN(p.type)) return true;
    }
    // Global enhancers (app.useGlobalX, APP_GUARD...), read where Nest's context creators read them.
    const config = (this.externalContextCreator as unknown as { container?: { applicationConfig?: ApplicationConfig } }).container?.applicationConfig;
    if (!config) return true;
    return (
      config.getGlobalGuards().length + config.getGlobalInterceptors().length + config.getGlobalPipes().length +
        config.getGlobalFilters().length + config.getGlobalRequestGuards().length + config.getGlobalRequestInterceptors().length +
        config.getGlobalRequestPipes().length + config.getGlobalRequestFilters().length > 0
    );
  }

  private resolveErrorHandler(token: InjectionToken | undefined, id: string, problem: (m: string) => Error): CommonErrorHandler {
    if (token === undefined) return new DefaultErrorHandler();
    let handler: unknown;
    try {
      handler = this.moduleRef.get(token, { strict: false });
    } catch (err) {
      throw Object.assign(
        problem(
          `listener '${id}' names error handler token ${describeToken(token)}, but no provider is registered for it; add it to the module's providers`,
        ),
        { cause: err },
      );
    }
    const h = handler as Partial<CommonErrorHandler> | undefined;
    if (!h || typeof h.handleRecord !== 'function' || typeof h.handleBatch !== 'function' || typeof h.deliveryAttempt !== 'function') {
      throw problem(
        `error handler token ${describeToken(token)} resolves to something that is not a CommonErrorHandler; provide a DefaultErrorHandler or a class implementing CommonErrorHandler`,
      );
    }
    return h as CommonErrorHandler;
  }
}
