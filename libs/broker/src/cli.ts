/**
 * Standalone embedded broker for local development:
 *
 *   kafka-nest-broker --port 9092 [--host 127.0.0.1] [--partitions N] [--brokers 3 --ports 9092,9095,9098]
 *                     [--topic name[:partitions]]... [--no-auto-create] [--verbose]
 *                     [--user name:password]... [--sasl PLAIN,SCRAM-SHA-256,SCRAM-SHA-512]
 *                     [--tls-cert cert.pem --tls-key key.pem] [--acls] [--super-user User:name]...
 *                     [--group-initial-rebalance-delay-ms N] [--listener PLAINTEXT://:9092 --listener SASL_SSL://:9093]
 *
 * Prints `bootstrap: host:port[,host:port...]` once every node accepts connections, and stops cleanly on
 * SIGINT / SIGTERM (exit 0). A bad argument prints one line naming the flag and the expected form and exits
 * with 2; a failure to start (port in use) exits with 1.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EmbeddedKafkaBroker } from './broker.js';
import type { EmbeddedKafkaBrokerOptions, ListenerSpec, SaslOptions, TopicSpec } from './cluster.js';
import { type BrokerLogger, consoleLogger } from './logger.js';
import { topicNameProblem } from './topics.js';

const DEFAULT_PORT = 9092;

const HELP = `Usage: kafka-nest-broker [options]

Runs the kafka-nest embedded Kafka broker standalone, speaking the Kafka wire protocol.

Options:
  --port <n>             port of the first node; 0 picks a free port        default: ${DEFAULT_PORT}
  --host <address>       interface to listen on                             default: 127.0.0.1
  --brokers <n>          number of broker nodes                             default: 1, or the count of --ports
  --ports <p1,p2,...>    one port per node, overriding --port               default: --port, --port+1, ...
  --partitions <n>       partitions of a topic created without a count      default: 1
  --topic <name[:n]>     create a topic at start-up; repeatable             default: none (n: --partitions)
  --no-auto-create       do not create unknown topics on Metadata/Produce   default: auto-create on
  --verbose              log the broker's debug and info lines to stderr    default: warnings and errors only
  --user <name:password> require SASL, accepting this user; repeatable      default: no SASL
  --sasl <m1,m2>         mechanisms offered: PLAIN, SCRAM-SHA-256, -512     default: PLAIN (needs --user)
  --tls-cert <file>      serve TLS with this PEM certificate                default: plaintext
  --tls-key <file>       the private key of --tls-cert (PEM)                default: plaintext
  --acls                 enforce ACLs, managed with the Kafka ACL APIs      default: off, everything allowed
  --super-user <User:n>  principal allowed everything; repeatable; --acls   default: none
  --group-initial-rebalance-delay-ms <n>  first rebalance delay of a group  default: 0 (Kafka: 3000)
  --listener <NAME://:p> a listener as Kafka's; NAME: PLAINTEXT, SSL,       default: one, on --port
                         SASL_PLAINTEXT or SASL_SSL; repeatable
  -h, --help             show this help

Prints "bootstrap: <host:port,...>" when ready; Ctrl-C or SIGTERM stops it.`;

/** A command-line mistake: reported as one line, exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

function integer(flag: string, value: string, min: number, max: number, form: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} expects ${form}, got '${value}'`);
  }
  return n;
}

const port = (flag: string, value: string) => integer(flag, value, 0, 65535, 'a port number 0..65535');

function parseTopic(value: string): TopicSpec {
  const m = /^([^:]+)(?::(.*))?$/.exec(value);
  if (!m) throw new UsageError(`--topic expects name[:partitions], e.g. orders:3, got '${value}'`);
  const [, name, count] = m;
  const problem = topicNameProblem(name);
  if (problem) throw new UsageError(`--topic expects name[:partitions]: ${problem}`);
  if (count === undefined) return { name };
  return { name, partitions: integer('topic', count, 1, 1_000_000, 'name[:partitions] with partitions a positive integer, e.g. orders:3') };
}

interface CliOptions {
  readonly help: boolean;
  readonly verbose: boolean;
  readonly broker: EmbeddedKafkaBrokerOptions;
}

/** Parses the command line; throws UsageError naming the offending flag. */
function parseCli(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        brokers: { type: 'string' },
        ports: { type: 'string' },
        partitions: { type: 'string' },
        topic: { type: 'string', multiple: true },
        'no-auto-create': { type: 'boolean' },
        verbose: { type: 'boolean' },
        user: { type: 'string', multiple: true },
        sasl: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        acls: { type: 'boolean' },
        'super-user': { type: 'string', multiple: true },
        'group-initial-rebalance-delay-ms': { type: 'string' },
        listener: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(describeParseError(err as NodeJS.ErrnoException));
  }
  const v = parsed.values;
  if (v.help) return { help: true, verbose: false, broker: {} };

  const ports = v.ports?.split(',').map((p) => port('ports', p.trim()));
  if (ports && ports.length === 0) throw new UsageError(`--ports expects a comma-separated list of ports, e.g. 9092,9095,9098`);
  const brokers = v.brokers === undefined ? ports?.length ?? 1 : integer('brokers', v.brokers, 1, 1000, 'a positive integer');
  if (ports && ports.length !== brokers) {
    throw new UsageError(`--ports lists ${ports.length} port(s) for --brokers ${brokers}; give one port per broker, e.g. --brokers 3 --ports 9092,9095,9098`);
  }
  const host = v.host ?? '127.0.0.1';
  if (host.length === 0) throw new UsageError(`--host expects an interface address, e.g. 127.0.0.1 or 0.0.0.0`);
  const superUsers = v['super-user'] ?? [];
  for (const principal of superUsers) {
    if (!/^[^:]+:.+$/.test(principal)) throw new UsageError(`--super-user expects a principal Type:name, e.g. User:admin, got '${principal}'`);
  }
  const delay = v['group-initial-rebalance-delay-ms'];
  const listeners = v.listener?.map(parseListener);
  if (listeners && (v.port !== undefined || v.ports !== undefined)) {
    throw new UsageError(`--listener gives each listener its port; leave out --port and --ports`);
  }
  const saslListener = listeners?.find((l) => l.sasl);
  if (saslListener && !v.user?.length) throw new UsageError(`--listener ${saslListener.name} needs SASL users: add --user name:password`);
  const tlsListener = listeners?.find((l) => l.tls);
  if (tlsListener && v['tls-cert'] === undefined) throw new UsageError(`--listener ${tlsListener.name} serves TLS: add --tls-cert and --tls-key`);
  return {
    help: false,
    verbose: v.verbose ?? false,
    broker: {
      port: v.port === undefined ? DEFAULT_PORT : port('port', v.port),
      ports,
      host,
      brokers,
      defaultPartitions: v.partitions === undefined ? 1 : integer('partitions', v.partitions, 1, 1_000_000, 'a positive integer'),
      topics: (v.topic ?? []).map(parseTopic),
      autoCreateTopics: !v['no-auto-create'],
      listeners,
      sasl: parseSasl(v.user, v.sasl),
      tls: readTls(v['tls-cert'], v['tls-key']),
      acls: v.acls || superUsers.length > 0 ? { superUsers } : undefined,
      groupInitialRebalanceDelayMs: delay === undefined ? undefined : integer('group-initial-rebalance-delay-ms', delay, 0, 2_147_483_647, 'a number of milliseconds'),
    },
  };
}

const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

const SECURITY: Readonly<Record<string, { sasl: boolean; tls: boolean }>> = {
  PLAINTEXT: { sasl: false, tls: false },
  SSL: { sasl: false, tls: true },
  SASL_PLAINTEXT: { sasl: true, tls: false },
  SASL_SSL: { sasl: true, tls: true },
};

/** `--listener NAME://[host]:port`, NAME being Kafka's security protocol of the listener. */
function parseListener(value: string): ListenerSpec {
  const m = /^([A-Z_]+):\/\/[^:]*:(\d+)$/.exec(value);
  const security = m ? SECURITY[m[1]] : undefined;
  if (!m || !security) {
    throw new UsageError(`--listener expects NAME://:port with NAME one of ${Object.keys(SECURITY).join(', ')}, e.g. SASL_SSL://:9093, got '${value}'`);
  }
  return { name: m[1], port: port('listener', m[2]), ...security };
}

/** `--user name:password`... and `--sasl` into the broker's SASL options; undefined without users. */
function parseSasl(users: readonly string[] | undefined, mechanisms: string | undefined): SaslOptions | undefined {
  if (!users?.length) {
    if (mechanisms !== undefined) throw new UsageError(`--sasl needs at least one --user name:password to accept`);
    return undefined;
  }
  const accepted: Record<string, string> = {};
  for (const u of users) {
    const i = u.indexOf(':');
    if (i <= 0 || i === u.length - 1) throw new UsageError(`--user expects name:password, e.g. alice:alice-secret, got '${u.split(':')[0]}:…'`);
    accepted[u.slice(0, i)] = u.slice(i + 1);
  }
  const offered = (mechanisms ?? 'PLAIN').split(',').map((m) => m.trim().toUpperCase());
  const unknown = offered.find((m) => !(MECHANISMS as readonly string[]).includes(m));
  if (unknown !== undefined || offered.length === 0) {
    throw new UsageError(`--sasl expects mechanisms from ${MECHANISMS.join(', ')}, comma-separated, got '${mechanisms}'`);
  }
  return { mechanisms: offered as SaslOptions['mechanisms'], users: accepted };
}

/** `--tls-cert` and `--tls-key` into TLS options; both or neither. */
function readTls(certFile: string | undefined, keyFile: string | undefined): EmbeddedKafkaBrokerOptions['tls'] {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError(`--tls-cert and --tls-key go together: give the PEM certificate and its private key`);
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`--${flag} cannot read '${file}': ${(err as Error).message}`);
    }
  };
  return { cert: read('tls-cert', certFile), key: read('tls-key', keyFile) };
}

/** Turns node:util's parse errors into one line naming the flag and pointing at --help. */
function describeParseError(err: NodeJS.ErrnoException): string {
  const flag = /'(-[^']*)'/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${flag ?? '?'}'; run with --help to list the options`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${/'([^']*)'/.exec(err.message)?.[1] ?? '?'}'; every option is a --flag, run with --help to list them`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '--port <value>' argument missing" or "Option '--verbose' does not take an argument"
      const form = /Option '([^']*)'/.exec(err.message)?.[1];
      return err.message.includes('argument missing')
        ? `${form ?? 'an option'} needs a value; run with --help to list the options`
        : `${form ?? 'an option'} takes no value; run with --help to list the options`;
    }
    default:
      return `${err.message}; run with --help to list the options`;
  }
}

const verboseLogger: BrokerLogger = {
  debug: (m) => console.error(`[kafka-nest broker] debug ${m}`),
  info: (m) => console.error(`[kafka-nest broker] info ${m}`),
  warn: consoleLogger.warn,
  error: consoleLogger.error,
};

async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`kafka-nest broker: ${err.message}`);
    return 2;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }

  // Listen for signals before anything can announce readiness: a supervisor may stop us the moment it
  // reads the bootstrap line.
  let signalled: NodeJS.Signals | undefined;
  let wake = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    signalled ??= signal; // a second Ctrl-C while stopping changes nothing; stop() is quick
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let broker: EmbeddedKafkaBroker;
  try {
    broker = await EmbeddedKafkaBroker.start({ ...options.broker, logger: options.verbose ? verboseLogger : consoleLogger });
  } catch (err) {
    console.error(`kafka-nest broker: ${(err as Error).message}`);
    return 1;
  }
  console.log(`bootstrap: ${broker.brokers.join(',')}`);
  for (const l of options.broker.listeners ?? []) console.log(`listener ${l.name}: ${broker.listenerBrokers(l.name).join(',')}`);

  await new Promise<void>((resolve) => {
    wake = resolve;
    if (signalled) resolve();
  });
  console.error(`kafka-nest broker: ${signalled}, stopping`);
  try {
    await broker.stop();
    return 0;
  } catch (err) {
    console.error(`kafka-nest broker: error while stopping: ${(err as Error).message}`);
    return 1;
  }
}

// Exit explicitly: a client's pending long poll must not keep a stopped broker's process alive.
process.exit(await main(process.argv.slice(2)));
