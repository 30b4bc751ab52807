import type { PipeTransform, Type } from '@nestjs/common';
import { KafkaParamType } from '../kafka.constants.js';
import { kafkaParam } from './param.utils.js';

/**
 * One header value, decoded as UTF-8 (undefined when absent; raw bytes are in `@Ctx() ctx.headers`); a
 * batch listener gets one value per record. Mirrors Spring's `@Header(name)`.
 */
export function Header(name: string, ...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator {
  return kafkaParam(KafkaParamType.HEADER, name, pipes);
}
