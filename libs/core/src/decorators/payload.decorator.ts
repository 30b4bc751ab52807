import type { PipeTransform, Type } from '@nestjs/common';
import { KafkaParamType } from '../kafka.constants.js';
import { kafkaParam } from './param.utils.js';

/**
 * The deserialized record value (a batch listener: the array of values), run through `pipes`. With a
 * property name, that property of the value. Mirrors Spring's `@Payload`.
 */
export function Payload(...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator;
export function Payload(property: string, ...pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator;
export function Payload(...args: (string | Type<PipeTransform> | PipeTransform)[]): ParameterDecorator {
  const [first, ...rest] = args;
  return typeof first === 'string'
    ? kafkaParam(KafkaParamType.PAYLOAD, first, rest as (Type<PipeTransform> | PipeTransform)[])
    : kafkaParam(KafkaParamType.PAYLOAD, undefined, args as (Type<PipeTransform> | PipeTransform)[]);
}
