"""confluent-kafka-python (librdkafka 2.x) driven by the compatibility tests.

Usage: python3 confluent_client.py '<json spec>'
  {"op": "produce", "bootstrap": "h:p", "topic": "t", "records": [{"key": b64|null, "value": b64|null,
   "headers": [[name, b64]], "partition": n?}], "acks": -1|0|1, "config": {...}?}
      -> {"sent": [{"partition": n, "offset": n}]}
  {"op": "consume", "bootstrap": "h:p", "topic": "t", "group": "g", "count": n, "timeout_ms": n,
   "commit": true|false, "config": {...}?}
      -> {"records": [{"partition", "offset", "key", "value", "headers", "timestamp"}], "committed": {"p": offset}}

  {"op": "admin", "bootstrap": "h:p", "topic": "t"}
      -> creates t with 2 partitions, grows it to 3, reads its configs, lists groups, deletes t:
         {"partitions", "configs", "groups"}

  {"op": "configs", "bootstrap": "h:p", "topic": "t", "set": {name: value}, "bad": {name: value}}
      -> creates t, alters its configs to "set" (AlterConfigs), describes them, tries "bad":
         {"configs": {name: [value, source, [synonym names]]}, "bad_error": [code name, message]}
  {"op": "assign", "bootstrap": "h:p", "topic": "t", "assignment": [[ids]], "bad": [[ids]]}
      -> creates t with the replica assignment, reads its metadata, tries to create t-bad with "bad":
         {"partitions": [{"partition", "leader", "replicas"}], "bad_error": [code name, message]}
  {"op": "transactions", "bootstrap": "h:p", "transactional_id": "id", "config": {...}?,
   "transactions": [{"topic": "t", "values": ["v", ...], "outcome": "commit"|"abort", "delay_ms": n?,
                     "offsets": {"group": "g", "topic": "t", "partition": n, "offset": n}?}]}
      -> one transactional producer runs each transaction in turn (waiting delay_ms before ending it):
         {"results": [null | "error text", ...]}; after a fatal error the rest are not run
  {"op": "fence", "bootstrap": "h:p", "transactional_id": "id", "topic": "t"}
      -> a first producer opens a transaction and writes "zombie"; a second with the same id initialises
         (fencing the first), writes "successor" and commits; then the first tries to commit:
         {"zombie_error": "...", "zombie_fatal": bool}

Bytes travel as base64 so the tests can compare them exactly. "config" adds librdkafka properties (for example
{"debug": "protocol,cgrp"}). Any failure prints {"error": "..."} and exits 1.
"""
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from harness import b64, run, unb64


def produce(spec):
    conf = {'bootstrap.servers': spec['bootstrap'], 'client.id': 'compat-confluent', 'acks': str(spec.get('acks', -1)),
            'linger.ms': 0, 'partitioner': 'murmur2_random'}
    conf.update(spec.get('config', {}))
    producer = Producer(conf)
    sent = [None] * len(spec['records'])
    failures = []

    def on_delivery(index):
        def report(err, msg):
            if err is not None:
                failures.append(str(err))
            else:
                sent[index] = {'partition': msg.partition(), 'offset': msg.offset()}
        return report

    for i, r in enumerate(spec['records']):
        kwargs = {'key': unb64(r.get('key')), 'value': unb64(r.get('value')),
                  'headers': [(h[0], unb64(h[1])) for h in r.get('headers', [])], 'on_delivery': on_delivery(i)}
        if r.get('partition') is not None:
            kwargs['partition'] = r['partition']
        producer.produce(spec['topic'], **kwargs)
    remaining = producer.flush(spec.get('timeout_ms', 20000) / 1000)
    if failures or remaining:
        return {'error': f'{remaining} record(s) undelivered; delivery errors: {failures}', 'sent': sent}
    return {'sent': sent}


def consume(spec):
    conf = {'bootstrap.servers': spec['bootstrap'], 'client.id': 'compat-confluent', 'group.id': spec['group'],
            'auto.offset.reset': 'earliest', 'enable.auto.commit': False, 'session.timeout.ms': 10000}
    conf.update(spec.get('config', {}))
    consumer = Consumer(conf)
    try:
        consumer.subscribe([spec['topic']])
        deadline = time.monotonic() + spec.get('timeout_ms', 20000) / 1000
        records = []
        while len(records) < spec['count'] and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            records.append({'partition': msg.partition(), 'offset': msg.offset(), 'key': b64(msg.key()), 'value': b64(msg.value()),
                            'headers': [[k, b64(v)] for k, v in (msg.headers() or [])], 'timestamp': msg.timestamp()[1]})
        committed = {}
        if spec.get('commit', True) and records:
            consumer.commit(asynchronous=False)
            for tp in consumer.committed(consumer.assignment(), timeout=10):
                if tp.offset >= 0:
                    committed[str(tp.partition)] = tp.offset
        if len(records) < spec['count']:
            return {'error': f"received {len(records)} of {spec['count']} records before the timeout", 'records': records}
        return {'records': records, 'committed': committed}
    finally:
        consumer.close()


def admin(spec):
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

    client = AdminClient({'bootstrap.servers': spec['bootstrap'], 'client.id': 'compat-confluent'})
    timeout = spec.get('timeout_ms', 20000) / 1000
    topic = spec['topic']
    for future in client.create_topics([NewTopic(topic, 2, 1)], operation_timeout=timeout).values():
        future.result(timeout)
    for future in client.create_partitions([NewPartitions(topic, 3)], operation_timeout=timeout).values():
        future.result(timeout)
    partitions = len(client.list_topics(topic, timeout=timeout).topics[topic].partitions)
    [configs] = [f.result(timeout) for f in client.describe_configs([ConfigResource('topic', topic)]).values()]
    groups = sorted(g.id for g in client.list_groups(timeout=timeout))
    for future in client.delete_topics([topic], operation_timeout=timeout).values():
        future.result(timeout)
    return {'partitions': partitions, 'configs': {name: entry.value for name, entry in configs.items()}, 'groups': groups}


def configs(spec):
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    client = AdminClient({'bootstrap.servers': spec['bootstrap'], 'client.id': 'compat-confluent'})
    timeout = spec.get('timeout_ms', 20000) / 1000
    topic = spec['topic']
    for future in client.create_topics([NewTopic(topic, 1, 1)], operation_timeout=timeout).values():
        future.result(timeout)
    for future in client.alter_configs([ConfigResource('topic', topic, set_config=spec['set'])]).values():
        future.result(timeout)
    [described] = [f.result(timeout) for f in client.describe_configs([ConfigResource('topic', topic)]).values()]
    entries = {name: [e.value, int(e.source), sorted(e.synonyms.keys())] for name, e in described.items()}
    bad_error = None
    try:
        for future in client.alter_configs([ConfigResource('topic', topic, set_config=spec['bad'])]).values():
            future.result(timeout)
    except KafkaException as e:
        bad_error = [e.args[0].name(), e.args[0].str()]
    return {'configs': entries, 'bad_error': bad_error}


def assign(spec):
    from confluent_kafka.admin import AdminClient, NewTopic

    client = AdminClient({'bootstrap.servers': spec['bootstrap'], 'client.id': 'compat-confluent'})
    timeout = spec.get('timeout_ms', 20000) / 1000
    topic = spec['topic']
    for future in client.create_topics([NewTopic(topic, len(spec['assignment']), replica_assignment=spec['assignment'])], operation_timeout=timeout).values():
        future.result(timeout)
    metadata = client.list_topics(topic, timeout=timeout).topics[topic]
    partitions = [{'partition': p.id, 'leader': p.leader, 'replicas': list(p.replicas)}
                  for p in sorted(metadata.partitions.values(), key=lambda p: p.id)]
    bad_error = None
    try:
        for future in client.create_topics([NewTopic(topic + '-bad', len(spec['bad']), replica_assignment=spec['bad'])], operation_timeout=timeout).values():
            future.result(timeout)
    except KafkaException as e:
        bad_error = [e.args[0].name(), e.args[0].str()]
    return {'partitions': partitions, 'bad_error': bad_error}


def transactional_producer(spec, transactional_id):
    conf = {'bootstrap.servers': spec['bootstrap'], 'client.id': 'compat-confluent-txn', 'transactional.id': transactional_id, 'linger.ms': 0}
    conf.update(spec.get('config', {}))
    producer = Producer(conf)
    producer.init_transactions(spec.get('timeout_ms', 20000) / 1000)
    return producer


def transactions(spec):
    producer = transactional_producer(spec, spec['transactional_id'])
    results = []
    for txn in spec['transactions']:
        try:
            producer.begin_transaction()
            for value in txn['values']:
                producer.produce(txn['topic'], value=value.encode())
            producer.flush(10)
            if txn.get('offsets'):
                o = txn['offsets']
                group = Consumer({'bootstrap.servers': spec['bootstrap'], 'group.id': o['group']})
                producer.send_offsets_to_transaction([TopicPartition(o['topic'], o['partition'], o['offset'])], group.consumer_group_metadata(), 10)
                group.close()
            if txn.get('delay_ms'):
                time.sleep(txn['delay_ms'] / 1000)
            if txn['outcome'] == 'commit':
                producer.commit_transaction(10)
            else:
                producer.abort_transaction(10)
            results.append(None)
        except KafkaException as err:
            results.append(str(err.args[0]))
            if err.args[0].fatal():
                break
            if err.args[0].txn_requires_abort():
                producer.abort_transaction(10)
    return {'results': results}


def fence(spec):
    zombie = transactional_producer(spec, spec['transactional_id'])
    zombie.begin_transaction()
    zombie.produce(spec['topic'], value=b'zombie')
    zombie.flush(10)
    successor = transactional_producer(spec, spec['transactional_id'])
    successor.begin_transaction()
    successor.produce(spec['topic'], value=b'successor')
    successor.commit_transaction(10)
    try:
        zombie.commit_transaction(10)
        return {'error': 'the fenced producer committed'}
    except KafkaException as err:
        return {'zombie_error': str(err.args[0]), 'zombie_fatal': err.args[0].fatal()}


if __name__ == '__main__':
    run({'produce': produce, 'consume': consume, 'admin': admin, 'configs': configs, 'assign': assign,
         'transactions': transactions, 'fence': fence})
