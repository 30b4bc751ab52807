export { createKafkaTestBroker, kafkaTestOptions, KafkaTestingModule } from './kafka-testing.module.js';
export { waitFor, getRecords, getSingleRecord, waitForCommit, waitForAssignment, type WaitOptions } from './kafka-test.utils.js';
