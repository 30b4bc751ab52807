/** Kept so that imports of the old path still work: the container now lives in `container/`, split by concern. */
export { KafkaListenerContainer } from './container/concurrent-listener.container.js';
