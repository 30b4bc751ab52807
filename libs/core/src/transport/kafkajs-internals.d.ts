// The parts of kafkajs's internals that kafka-nest uses (kafkajs 2.2.x). Imported, not `createRequire`d, so
// that both builds (ES modules and CommonJS) compile them.

// The request queue that `kafkajs-request-queue.ts` fixes.
declare module 'kafkajs/src/network/requestQueue/index.js' {
  export default class RequestQueue {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    checkPendingRequests(): void;
    scheduleCheckPendingRequests(): void;
  }
}

// kafkajs's table of Kafka error codes (kafkajs 2.2.x), read by `kafkajs.transport.ts`.
declare module 'kafkajs/src/protocol/error.js' {
  const protocolErrors: { errorCodes: { type: string; code: number; message: string }[] };
  export default protocolErrors;
}
