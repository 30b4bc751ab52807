export { createKafkaTestBroker, kafkaTestOptions, KafkaTestingModule } from './kafka-testing.module.js';
export { waitFor, getRecords, getSingleRecord, waitForCommit, waitForAssignment, committedByPartition, fullyCommitted, type WaitOptions } from './kafka-test.utils.js';
export { RecordJournal, summarizeJournal, processedPastCommit, committedButUnprocessed, recordKey, type JournalEntry, type JournalSummary } from './record-journal.js';
export { ChildApp, notifyParent, onParentMessage, type ChildAppOptions, type ChildExit, type ChildMessage } from './child-app.js';
/** The broker `createKafkaTestBroker` starts, re-exported so that a test needs no import of `@kafka-nest/broker`. */
export { EmbeddedKafkaBroker, type BrokerRecord } from '@kafka-nest/broker';
