export { KafkaConsoleModule, type KafkaConsoleOptions } from './kafka-console.module.js';
export { ConsoleCsrfGuard, CONSOLE_TOKEN_HEADER } from './console-csrf.guard.js';
