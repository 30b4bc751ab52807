import { KafkaParamType } from '../kafka.constants.js';
import { kafkaParam } from './param.utils.js';

/** The `Acknowledgment` of the record (or batch): call `acknowledge()` in the `MANUAL*` ack modes. */
export function Ack(): ParameterDecorator {
  return kafkaParam(KafkaParamType.ACK, undefined, []);
}
