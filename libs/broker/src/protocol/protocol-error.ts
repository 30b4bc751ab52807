/** A frame that does not follow the Kafka grammar: the connection that sent it is closed. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}
