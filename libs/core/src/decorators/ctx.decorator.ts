import { KafkaParamType } from '../kafka.constants.js';
import { kafkaParam } from './param.utils.js';

/** The `KafkaContext` of the record (a batch listener: a `KafkaBatchContext`). */
export function Ctx(): ParameterDecorator {
  return kafkaParam(KafkaParamType.CONTEXT, undefined, []);
}
