/** Metadata keys and injection tokens of kafka-nest. Internal: not exported from the public entry. */

/** Method metadata: the `KafkaListenerOptions[]` of a method (one entry per `@KafkaListener`). */
export const KAFKA_LISTENER_METADATA = 'kafka-nest:listener';

/** Method metadata: the `RetryableTopicOptions[]` of a method (one entry per `@RetryableTopic`). */
export const RETRYABLE_TOPIC_METADATA = 'kafka-nest:retryable-topic';

/** Method metadata: the `SendToMetadata` of a `@SendTo` method. */
export const SEND_TO_METADATA = 'kafka-nest:send-to';

/** Method metadata: `true` on a `@DltHandler` method. */
export const DLT_HANDLER_METADATA = 'kafka-nest:dlt-handler';

/**
 * Method metadata: parameter decorators of a listener method, read by `ExternalContextCreator`. Nest's own
 * key (`ROUTE_ARGS_METADATA`, as @nestjs/microservices uses), so that decorators made with Nest's
 * `createParamDecorator` work on listeners too.
 */
export const KAFKA_PARAMS_METADATA = '__routeArguments__';

/** The resolved `KafkaModuleOptions`. */
export const KAFKA_MODULE_OPTIONS = Symbol('kafka-nest:module-options');

/** The `KafkaTransport` in use. */
export const KAFKA_TRANSPORT = Symbol('kafka-nest:transport');

/** `ExecutionContext.getType()` of a listener invocation, for guards, interceptors and filters. */
export const KAFKA_CONTEXT_TYPE = 'kafka';

/** Shutdown timeout when none is configured: 10 s. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Parameter types of the listener parameter decorators. Nest's `PipesConsumer` tells pipes the type by
 * number: 3 is `'body'`, and every number it does not know is `'custom'`, which `ValidationPipe` skips. So
 * `PAYLOAD` is 3, as `@nestjs/microservices`' `RpcParamtype.PAYLOAD`, and the others avoid 3, 4 and 5
 * (`'body'`, `'query'`, `'param'`).
 */
export const enum KafkaParamType {
  PAYLOAD = 3,
  KEY = 10,
  HEADER = 11,
  HEADERS = 12,
  ACK = 13,
  CONTEXT = 14,
}

/** Nest's metadata keys of enhancers (`@UseGuards`...) and custom parameter decorators (@nestjs/common constants). */
export const GUARDS_METADATA = '__guards__';
export const INTERCEPTORS_METADATA = '__interceptors__';
export const PIPES_METADATA = '__pipes__';
export const EXCEPTION_FILTERS_METADATA = '__exceptionFilters__';
/** The classes an exception filter's `@Catch(...)` lists. */
export const FILTER_CATCH_EXCEPTIONS = '__filterCatchExceptions__';
export const CUSTOM_ROUTE_ARGS_METADATA = '__customRouteArgs__';
