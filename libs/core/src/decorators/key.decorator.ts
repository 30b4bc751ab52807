import type { PipeTransform, Type } from '@nestjs/common';
import { KafkaParamType } from '../kafka.constants.js';
import { kafkaParam } from './param.utils.js';

/**
 * The deserialized record key (a string by default; null when absent); a batch listener gets the array of
 * keys. Mirrors Spring's `@Header(KafkaHeaders.RECEIVED_KEY)`.
 */
export function Key(...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator {
  return kafkaParam(KafkaParamType.KEY, undefined, pipes);
}
