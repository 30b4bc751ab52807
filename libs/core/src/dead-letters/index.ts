export {
  type DeadLetter,
  type DeadLetterException,
  type DeadLetterOrigin,
  ReplayHeaders,
  deadLetterToJSON,
} from './dead-letter.js';
export {
  DeadLetterReplayer,
  DeadLetterReplayError,
  type DeadLetterFilter,
  type DeadLetterReplayerOptions,
  type DeadLetterReplaySettings,
  type ListDeadLettersOptions,
  type ReplayOptions,
  type ReplayOutcome,
  type ReplayResult,
} from './dead-letter-replayer.js';
