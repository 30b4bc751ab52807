import type { PipeTransform, Type } from '@nestjs/common';
import { KafkaParamType } from '../kafka.constants.js';
import { kafkaParam } from './param.utils.js';

/**
 * Every header of the record, by name, decoded as UTF-8; a batch listener gets one object per record.
 * Mirrors Spring's `@Headers`.
 */
export function Headers(...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator {
  return kafkaParam(KafkaParamType.HEADERS, undefined, pipes);
}
