/**
 * The seam between a `KafkaNestServer`, which Nest creates outside dependency injection, and the
 * `KafkaModule` of its application. Nest lists every transport strategy among the application's RPC
 * targets (`ModulesContainer.getRpcTargetRegistry()`); the explorer offers each one this runtime, and a
 * `KafkaNestServer` takes it. Internal.
 */
import type { KafkaListenerOptions } from '../listener/kafka-listener-options.js';
import type { ListenerEndpoint } from '../listener/listener-endpoint.js';
import type { MessageListenerContainer } from '../listener/message-listener-container.js';
import type { KafkaTemplate } from '../producer/kafka.template.js';
import type { PatternMethod } from './pattern-handlers.js';

/** What the application's KafkaModule lends a `KafkaNestServer`. */
export interface KafkaNestRuntime {
  /**
   * An endpoint validated and completed as a `@KafkaListener`'s (module defaults, error handler token
   * resolved in DI); `listener` names it in messages. Throws `KafkaConfigurationError`.
   */
  endpoint(listener: string, options: KafkaListenerOptions, invoke: ListenerEndpoint['invoke']): ListenerEndpoint;
  /**
   * Registers a container per endpoint (registry, metrics, drained on shutdown) and starts the
   * `autoStartup` ones: at once when the application has bootstrapped, else with the application's other
   * containers in `onApplicationBootstrap` (the promise then resolves at once).
   */
  start(endpoints: readonly ListenerEndpoint[]): Promise<MessageListenerContainer[]>;
  /** The `@EventPattern` / `@MessagePattern` methods of the application's singleton controllers. */
  patternMethods(): PatternMethod[];
  /**
   * Calls a pattern method as listeners are called (pipes, guards, interceptors, exception filters, or
   * straight when none applies), with Nest's RPC parameters (`@Payload`, `@Ctx`) and `getType() === 'rpc'`.
   * An error no exception filter handles is thrown as it was raised.
   */
  invoker(instance: object, methodName: string): ListenerEndpoint['invoke'];
  /**
   * The endpoints of a pattern method carrying `@RetryableTopic`: the main one, one per retry topic and the
   * dead-letter one (`@DltHandler` of the class, or a logger); `[endpoint]` without it.
   */
  expand(endpoint: ListenerEndpoint, method: PatternMethod, options: KafkaListenerOptions): ListenerEndpoint[];
  /** The application's `KafkaTemplate`, for replies. */
  readonly template: KafkaTemplate;
}

/** The method a transport strategy exposes to receive the runtime. */
export const BIND_RUNTIME = Symbol.for('kafka-nest:bind-runtime');

/** Offers `runtime` to an RPC target; true when it was a `KafkaNestServer` and took it. */
export function bindKafkaNestServer(target: unknown, runtime: KafkaNestRuntime): boolean {
  const bind = (target as { [BIND_RUNTIME]?: unknown } | null)?.[BIND_RUNTIME];
  if (typeof bind !== 'function') return false;
  bind.call(target, runtime);
  return true;
}
