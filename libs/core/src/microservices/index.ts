/**
 * `@kafka-nest/core/microservices`: kafka-nest as a `@nestjs/microservices` transport. `KafkaNestServer`
 * serves existing `@EventPattern` / `@MessagePattern` handlers through kafka-nest's listener containers, and
 * `KafkaNestClient` is a `ClientProxy` for `ClientKafka` users. A separate entry, so that only applications
 * that use it need `@nestjs/microservices` installed.
 */
export { KafkaNestServer, MicroserviceHandlerError, type KafkaNestServerOptions, type MicroservicePatternOptions } from './kafka-nest.server.js';
export { KafkaNestContext, type NestKafkaMessage } from './kafka-nest.context.js';
export { KafkaNestClient, type KafkaNestClientOptions } from './kafka-nest.client.js';
