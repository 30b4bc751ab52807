export { KafkaListener } from './kafka-listener.decorator.js';
export { Payload } from './payload.decorator.js';
export { Key } from './key.decorator.js';
export { Header } from './header.decorator.js';
export { Headers } from './headers.decorator.js';
export { Ack } from './ack.decorator.js';
export { Ctx } from './ctx.decorator.js';
export { SendTo } from './send-to.decorator.js';
