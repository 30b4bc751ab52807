"""kafka-python (2.x) driven by the compatibility tests.

Usage: python3 kafka_python_client.py '<json spec>'
  {"op": "produce", "bootstrap": "h:p", "topic": "t", "records": [{"key": b64|null, "value": b64|null,
   "headers": [[name, b64]], "partition": n?}], "acks": -1|0|1}
      -> {"sent": [{"partition": n, "offset": n}]}
  {"op": "consume", "bootstrap": "h:p", "topic": "t", "group": "g"|null, "count": n, "timeout_ms": n,
   "commit": true|false}
      -> {"records": [{"partition", "offset", "key", "value", "headers", "timestamp"}], "committed": {"p": offset}}
  {"op": "admin", "bootstrap": "h:p", "topic": "t", "group": "g"}
      -> creates t with 2 partitions, grows it to 3, describes it and its configs, lists and describes groups,
         reads g's committed offsets, deletes t: {"partitions", "configs", "groups", "group_state", "offsets"}
  {"op": "delete_groups", "bootstrap": "h:p", "groups": ["g", ...]}
      -> {"results": [[group, error code], ...]} sorted by group

  {"op": "configs", "bootstrap": "h:p", "topic": "t", "set": {name: value}, "bad": {name: value}}
      -> creates t, alters its configs to "set" (AlterConfigs), describes them with synonyms, tries "bad":
         {"configs": {name: [value, source, [synonym names]]}, "bad_error": [code, message]}
  {"op": "assign", "bootstrap": "h:p", "topic": "t", "assignment": {"0": [ids]}, "bad": {"0": [ids]}}
      -> creates t with the replica assignment, describes it, tries to create t-bad with "bad":
         {"partitions": [{"partition", "leader", "replicas"}], "bad_error": [code, message]}
  {"op": "acls", "bootstrap": "h:p", "config": {...}, "principal": "User:x", "topic": "t"}
      -> allows the principal WRITE on t (CreateAcls), lists the principal's ACLs (DescribeAcls):
         {"acls": [[resource type, name, pattern type, principal, host, operation, permission]]}

Bytes travel as base64 so the tests can compare them exactly. "config" (produce, consume) adds keyword arguments
of KafkaProducer / KafkaConsumer (for example the SASL settings). Any failure prints {"error": "..."} and exits 1.
"""
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from harness import b64, run, unb64


def produce(spec):
    acks = spec.get('acks', -1)
    producer = KafkaProducer(bootstrap_servers=spec['bootstrap'], acks='all' if acks == -1 else acks,
                             client_id='compat-kafka-python', linger_ms=0, **spec.get('config', {}))
    try:
        futures = [
            producer.send(spec['topic'], key=unb64(r.get('key')), value=unb64(r.get('value')),
                          headers=[(h[0], unb64(h[1])) for h in r.get('headers', [])], partition=r.get('partition'))
            for r in spec['records']
        ]
        producer.flush(timeout=spec.get('timeout_ms', 20000) / 1000)
        sent = []
        for f in futures:
            md = f.get(timeout=spec.get('timeout_ms', 20000) / 1000)
            sent.append({'partition': md.partition, 'offset': md.offset})
        return {'sent': sent}
    finally:
        producer.close(timeout=5)


def consume(spec):
    group = spec.get('group')
    consumer = KafkaConsumer(bootstrap_servers=spec['bootstrap'], group_id=group, client_id='compat-kafka-python',
                             auto_offset_reset='earliest', enable_auto_commit=False,
                             consumer_timeout_ms=500, session_timeout_ms=10000, heartbeat_interval_ms=1000,
                             **spec.get('config', {}))
    try:
        if group:
            consumer.subscribe([spec['topic']])
        else:
            parts = consumer.partitions_for_topic(spec['topic']) or set()
            consumer.assign([TopicPartition(spec['topic'], p) for p in sorted(parts)])
        deadline = time.monotonic() + spec.get('timeout_ms', 20000) / 1000
        records = []
        while len(records) < spec['count'] and time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=200, max_records=spec['count'] - len(records))
            for tp, msgs in batches.items():
                for m in msgs:
                    records.append({'partition': m.partition, 'offset': m.offset, 'key': b64(m.key), 'value': b64(m.value),
                                    'headers': [[k, b64(v)] for k, v in (m.headers or [])], 'timestamp': m.timestamp})
        committed = {}
        if group and spec.get('commit', True):
            consumer.commit()
            for tp in consumer.assignment():
                committed[str(tp.partition)] = consumer.committed(tp)
        if len(records) < spec['count']:
            return {'error': f"received {len(records)} of {spec['count']} records before the timeout", 'records': records}
        return {'records': records, 'committed': committed}
    finally:
        consumer.close(autocommit=False)


def admin(spec):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

    client = KafkaAdminClient(bootstrap_servers=spec['bootstrap'], client_id='compat-kafka-python')
    try:
        topic, group = spec['topic'], spec['group']
        client.create_topics([NewTopic(topic, 2, 1)])
        client.create_partitions({topic: NewPartitions(3)})
        [described] = client.describe_topics([topic])
        [configs] = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [info] = client.describe_consumer_groups([group])
        offsets = client.list_consumer_group_offsets(group)
        out = {
            'partitions': len(described['partitions']),
            'configs': {e[0]: e[1] for e in configs.resources[0][4]},
            'groups': sorted(g[0] for g in client.list_consumer_groups()),
            'group_state': info.state,
            'offsets': {f'{tp.topic}:{tp.partition}': om.offset for tp, om in offsets.items()},
        }
        client.delete_topics([topic])
        return out
    finally:
        client.close()


def configs(spec):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

    client = KafkaAdminClient(bootstrap_servers=spec['bootstrap'], client_id='compat-kafka-python')
    try:
        topic = spec['topic']
        client.create_topics([NewTopic(topic, 1, 1)])
        altered = client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=spec['set'])])
        if altered.resources[0][0] != 0:
            raise RuntimeError(f'alter_configs failed: {altered.resources[0]}')
        [described] = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], include_synonyms=True)
        entries = {e[0]: [e[1], e[3], [s[0] for s in e[5]]] for e in described.resources[0][4]}
        bad = client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=spec['bad'])])
        return {'configs': entries, 'bad_error': [bad.resources[0][0], bad.resources[0][1]]}
    finally:
        client.close()


def assign(spec):
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError

    client = KafkaAdminClient(bootstrap_servers=spec['bootstrap'], client_id='compat-kafka-python')
    try:
        topic = spec['topic']

        def create(name, assignment):
            replicas = {int(p): ids for p, ids in assignment.items()}
            try:
                response = client.create_topics([NewTopic(name, -1, -1, replica_assignments=replicas)])
            except KafkaError as e:  # kafka-python raises the first topic error, its message included
                return e.errno, str(e)
            return [(e[1], e[2] if len(e) > 2 else None) for e in response.topic_errors][0]

        created = create(topic, spec['assignment'])
        if created[0] != 0:
            raise RuntimeError(f'create_topics failed: {created}')
        [described] = client.describe_topics([topic])
        partitions = sorted(({'partition': p['partition'], 'leader': p['leader'], 'replicas': p['replicas']}
                             for p in described['partitions']), key=lambda p: p['partition'])
        return {'partitions': partitions, 'bad_error': list(create(topic + '-bad', spec['bad']))}
    finally:
        client.close()


def acls(spec):
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePattern, ResourcePatternFilter, ResourceType)

    client = KafkaAdminClient(bootstrap_servers=spec['bootstrap'], client_id='compat-kafka-python', **spec.get('config', {}))
    try:
        acl = ACL(principal=spec['principal'], host='*', operation=ACLOperation.WRITE, permission_type=ACLPermissionType.ALLOW,
                  resource_pattern=ResourcePattern(ResourceType.TOPIC, spec['topic']))
        created = client.create_acls([acl])
        if created['failed']:
            raise RuntimeError(f'create_acls failed: {created["failed"]}')
        found, error = client.describe_acls(ACLFilter(principal=spec['principal'], host='*', operation=ACLOperation.ANY,
                                                      permission_type=ACLPermissionType.ANY,
                                                      resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
        if error.errno != 0:
            raise RuntimeError(f'describe_acls failed: {error}')
        return {'acls': [[a.resource_pattern.resource_type.name, a.resource_pattern.resource_name, a.resource_pattern.pattern_type.name,
                          a.principal, a.host, a.operation.name, a.permission_type.name] for a in found]}
    finally:
        client.close()


def delete_groups(spec):
    from kafka.admin import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=spec['bootstrap'], client_id='compat-kafka-python')
    try:
        return {'results': sorted([group, error.errno] for group, error in client.delete_consumer_groups(spec['groups']))}
    finally:
        client.close()


if __name__ == '__main__':
    run({'produce': produce, 'consume': consume, 'admin': admin, 'configs': configs, 'assign': assign, 'acls': acls, 'delete_groups': delete_groups})
