/**
 * ACLs and the authorizer, as Kafka's standard authorizer applies them.
 *
 * An ACL binds a resource pattern (type, name, LITERAL or PREFIXED; the literal name `*` matches every
 * resource of the type) to an entry: a principal (`User:alice`, or `User:*` for everyone), a host (`*` for
 * any), an operation and ALLOW or DENY. A request is allowed when the principal is a super user, or when no
 * matching DENY covers the operation and a matching ALLOW does: DENY wins. ALL covers every operation;
 * READ, WRITE, DELETE and ALTER imply DESCRIBE, and ALTER_CONFIGS implies DESCRIBE_CONFIGS. A resource no
 * ACL matches is denied unless `allowEveryoneIfNoAclFound`. A connection without SASL is `User:ANONYMOUS`.
 *
 * Without the broker's `acls` option there is no authorizer: everything is allowed and the ACL APIs answer
 * SECURITY_DISABLED, as Kafka without `authorizer.class.name`.
 */
import type { ApiHandler, RequestContext } from './handlers/handler.js';
import { ApiKey } from './protocol/api-keys.js';
import { ErrorCode } from './protocol/error-codes.js';

/** Kafka's `ResourceType` codes. */
export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
/** Kafka's `PatternType` codes. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
/** Kafka's `AclOperation` codes. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;
/** Kafka's `AclPermissionType` codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The name of the cluster resource, as Kafka spells it. */
export const CLUSTER_RESOURCE = 'kafka-cluster';

/** One ACL: a resource pattern and an entry, with Kafka's numeric codes. */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

/** A filter over bindings (DescribeAcls, DeleteAcls): null and ANY match everything. */
export interface AclFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/** Authorizer settings: the broker option `acls`. */
export interface AclOptions {
  /** Principals allowed everything, as `User:name` (Kafka's `super.users`). @default [] */
  readonly superUsers?: readonly string[];
  /** Allow a request on a resource no ACL matches (Kafka's `allow.everyone.if.no.acl.found`). @default false */
  readonly allowEveryoneIfNoAclFound?: boolean;
}

const IMPLIES_DESCRIBE: readonly number[] = [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER];

/** Why a binding cannot be stored (CreateAcls), or null. */
export function aclBindingProblem(b: AclBinding): string | null {
  const known = (codes: Record<string, number>, v: number, skip: number[]) => Object.values(codes).includes(v) && !skip.includes(v);
  if (!known(ResourceType, b.resourceType, [ResourceType.UNKNOWN, ResourceType.ANY])) return `Invalid resource type ${b.resourceType} for an ACL; use TOPIC (2), GROUP (3), CLUSTER (4), TRANSACTIONAL_ID (5)…`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `Invalid pattern type ${b.patternType} for an ACL; use LITERAL (3) or PREFIXED (4)`;
  if (!known(AclOperation, b.operation, [AclOperation.UNKNOWN, AclOperation.ANY])) return `Invalid operation ${b.operation} for an ACL`;
  if (b.permission !== AclPermission.ALLOW && b.permission !== AclPermission.DENY) return `Invalid permission type ${b.permission} for an ACL; use DENY (2) or ALLOW (3)`;
  if (!/^[^:]+:.+$/.test(b.principal)) return `Invalid principal '${b.principal}': write it as 'User:name'`;
  if (b.resourceName === '') return 'The resource name of an ACL must not be empty';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_RESOURCE) return `The cluster resource is named '${CLUSTER_RESOURCE}', not '${b.resourceName}'`;
  return null;
}

/** Whether a binding's pattern applies to the resource named `name` of `type`. */
function patternMatches(b: AclBinding, type: number, name: string): boolean {
  if (b.resourceType !== type) return false;
  if (b.patternType === PatternType.PREFIXED) return name.startsWith(b.resourceName);
  return b.resourceName === name || b.resourceName === '*';
}

/** Whether `b` is one of the bindings `f` selects. */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.resourceName !== null) {
    if (f.patternType === PatternType.MATCH) {
      if (!patternMatches(b, b.resourceType, f.resourceName)) return false;
    } else if (f.resourceName !== b.resourceName) return false;
  }
  if (f.patternType !== PatternType.ANY && f.patternType !== PatternType.MATCH && f.patternType !== b.patternType) return false;
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  if (f.permission !== AclPermission.ANY && f.permission !== b.permission) return false;
  return true;
}

const sameBinding = (a: AclBinding, b: AclBinding) =>
  a.resourceType === b.resourceType &&
  a.resourceName === b.resourceName &&
  a.patternType === b.patternType &&
  a.principal === b.principal &&
  a.host === b.host &&
  a.operation === b.operation &&
  a.permission === b.permission;

/** The principal of a connection, as Kafka names it. */
export function principalOf(ctx: Pick<RequestContext, 'connection'>): string {
  return `User:${ctx.connection.principal ?? 'ANONYMOUS'}`;
}

export class Authorizer {
  private bindings: AclBinding[] = [];
  private readonly superUsers: ReadonlySet<string>;

  constructor(private readonly options: AclOptions) {
    this.superUsers = new Set(options.superUsers ?? []);
  }

  add(binding: AclBinding): void {
    if (!this.bindings.some((b) => sameBinding(b, binding))) this.bindings.push({ ...binding });
  }

  list(filter: AclFilter): AclBinding[] {
    return this.bindings.filter((b) => filterMatches(filter, b));
  }

  /** Removes and returns the bindings `filter` selects. */
  remove(filter: AclFilter): AclBinding[] {
    const removed = this.bindings.filter((b) => filterMatches(filter, b));
    this.bindings = this.bindings.filter((b) => !filterMatches(filter, b));
    return removed;
  }

  /** Whether `principal` connecting from `host` may perform `operation` on the resource. */
  allowed(principal: string, host: string, type: number, name: string, operation: number): boolean {
    if (this.superUsers.has(principal)) return true;
    const matching = this.bindings.filter((b) => patternMatches(b, type, name));
    if (matching.length === 0) return this.options.allowEveryoneIfNoAclFound ?? false;
    const applies = matching.filter((b) => (b.principal === principal || b.principal === 'User:*') && (b.host === '*' || b.host === host));
    const denies = applies.some((b) => b.permission === AclPermission.DENY && (b.operation === operation || b.operation === AclOperation.ALL));
    if (denies) return false;
    return applies.some(
      (b) =>
        b.permission === AclPermission.ALLOW &&
        (b.operation === operation ||
          b.operation === AclOperation.ALL ||
          (operation === AclOperation.DESCRIBE && IMPLIES_DESCRIBE.includes(b.operation)) ||
          (operation === AclOperation.DESCRIBE_CONFIGS && b.operation === AclOperation.ALTER_CONFIGS)),
    );
  }

  /** `allowed` for the principal and host of a request's connection. */
  permits(ctx: RequestContext, type: number, name: string, operation: number): boolean {
    return this.allowed(principalOf(ctx), ctx.connection.socket.remoteAddress ?? '', type, name, operation);
  }

  /**
   * What a request may do before it is handled: undefined when it may proceed as it is; `{ errorCode }` when
   * it is refused as a whole (the handler's error response); `{ topicError }` for requests whose handler
   * fails single topics (Produce, Fetch, ListOffsets, Metadata), the error of each topic refused.
   */
  check(handler: ApiHandler, req: any, ctx: RequestContext): { errorCode: number; message: string } | { topicError: (topic: string) => number | undefined } | undefined {
    const can = (type: number, name: string, op: number) => this.permits(ctx, type, name, op);
    const cluster = (op: number) => can(ResourceType.CLUSTER, CLUSTER_RESOURCE, op);
    const group = (groupId: string, op: number) =>
      can(ResourceType.GROUP, groupId, op) ? undefined : { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, message: `not authorized to access group '${groupId}'` };
    const topics = (op: number, orCluster?: number) => {
      const names: string[] = handler.topics?.(req) ?? [];
      const refused = (t: string) => !(orCluster !== undefined && cluster(orCluster)) && !can(ResourceType.TOPIC, t, op);
      if (handler.topicFaults) {
        return names.some(refused) ? { topicError: (t: string) => (refused(t) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : undefined) } : undefined;
      }
      const denied = names.find(refused);
      return denied === undefined ? undefined : { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, message: `not authorized to access topic '${denied}'` };
    };
    const transactionalId = (id: string | null) =>
      id === null || can(ResourceType.TRANSACTIONAL_ID, id, AclOperation.WRITE)
        ? undefined
        : { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: `not authorized to use transactional id '${id}'` };
    const clusterOnly = (op: number) =>
      cluster(op) ? undefined : { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, message: `not authorized to perform this operation on the cluster` };
    switch (handler.apiKey) {
      case ApiKey.Produce:
        return topics(AclOperation.WRITE);
      case ApiKey.Fetch:
        return topics(AclOperation.READ);
      case ApiKey.ListOffsets:
      case ApiKey.Metadata:
        return topics(AclOperation.DESCRIBE);
      case ApiKey.OffsetCommit:
        return group(req.groupId, AclOperation.READ) ?? topics(AclOperation.READ);
      case ApiKey.OffsetFetch:
        return group(req.groupId, AclOperation.DESCRIBE) ?? topics(AclOperation.DESCRIBE);
      case ApiKey.FindCoordinator:
        return req.keyType === 0 ? group(req.key, AclOperation.DESCRIBE) : undefined;
      case ApiKey.JoinGroup:
      case ApiKey.Heartbeat:
      case ApiKey.LeaveGroup:
      case ApiKey.SyncGroup:
        return group(req.groupId, AclOperation.READ);
      case ApiKey.DescribeGroups:
        return (req.groups as string[]).map((g) => group(g, AclOperation.DESCRIBE)).find((e) => e !== undefined);
      case ApiKey.DeleteGroups:
        return (req.groupIds as string[]).map((g) => group(g, AclOperation.DELETE)).find((e) => e !== undefined);
      case ApiKey.CreateTopics:
        return topics(AclOperation.CREATE, AclOperation.CREATE);
      case ApiKey.DeleteTopics:
      case ApiKey.DeleteRecords:
        return topics(AclOperation.DELETE);
      case ApiKey.CreatePartitions:
        return topics(AclOperation.ALTER);
      case ApiKey.DescribeConfigs:
        return topics(AclOperation.DESCRIBE_CONFIGS);
      case ApiKey.AlterConfigs:
      case ApiKey.IncrementalAlterConfigs:
        return topics(AclOperation.ALTER_CONFIGS);
      case ApiKey.InitProducerId:
        return transactionalId(req.transactionalId);
      case ApiKey.AddPartitionsToTxn:
        return transactionalId(req.transactionalId) ?? topics(AclOperation.WRITE);
      case ApiKey.AddOffsetsToTxn:
        return transactionalId(req.transactionalId) ?? group(req.groupId, AclOperation.READ);
      case ApiKey.EndTxn:
        return transactionalId(req.transactionalId);
      case ApiKey.TxnOffsetCommit:
        return transactionalId(req.transactionalId) ?? group(req.groupId, AclOperation.READ) ?? topics(AclOperation.READ);
      case ApiKey.AlterPartitionReassignments:
      case ApiKey.CreateAcls:
      case ApiKey.DeleteAcls:
        return clusterOnly(AclOperation.ALTER);
      case ApiKey.ListPartitionReassignments:
      case ApiKey.DescribeAcls:
        return clusterOnly(AclOperation.DESCRIBE);
      default:
        return undefined;
    }
  }
}
