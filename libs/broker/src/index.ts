export { EmbeddedKafkaBroker, type BrokerRecord, type PartitionOffsets } from './broker.js';
export type { EmbeddedKafkaBrokerOptions, ListenerSpec, TopicSpec, SaslOptions } from './cluster.js';
export type { AclOptions } from './acls.js';
export type { FaultSpec, Fault } from './faults.js';
export type { CommittedOffset, GroupDescription, GroupListing, GroupMemberDescription, GroupState, PartitionLag } from './group-coordinator.js';
export type { BrokerLogger } from './logger.js';
export { silentLogger } from './logger.js';
export { ApiKey } from './protocol/api-keys.js';
export { ErrorCode } from './protocol/error-codes.js';
