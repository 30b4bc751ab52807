import type { PipeTransform, Type } from '@nestjs/common';
import { KAFKA_PARAMS_METADATA, type KafkaParamType } from '../kafka.constants.js';

/** Records a listener parameter decorator the way `ExternalContextCreator` reads it. */
export function kafkaParam(type: KafkaParamType, data: string | undefined, pipes: (Type<PipeTransform> | PipeTransform)[]): ParameterDecorator {
  return (target, key, index) => {
    if (key === undefined) throw new TypeError('kafka-nest parameter decorators go on listener method parameters');
    const args = Reflect.getMetadata(KAFKA_PARAMS_METADATA, target.constructor, key) ?? {};
    Reflect.defineMetadata(
      KAFKA_PARAMS_METADATA,
      { ...args, [`${type}:${index}`]: { index, data, pipes } },
      target.constructor,
      key,
    );
  };
}
