/**
 * The `kafka-nest` command line, for operators without an application at hand:
 *
 *   kafka-nest dlt topics --brokers host:port[,host:port...]
 *   kafka-nest dlt list   <dlt-topic> [--partition N] [--from-offset N] [--limit N] [--json]
 *   kafka-nest dlt replay <dlt-topic> [filter options] [--limit N] [--dry-run] [--max-replays N] [--json]
 *   kafka-nest dlt park   <dlt-topic> [filter options] [--limit N] [--dry-run] [--json]
 *
 * Runs `DeadLetterReplayer` with the same options and prints a table (or JSON). Exit codes: 0 done, 1 the
 * operation failed (the message says why), 2 a command-line mistake (the message names the flag).
 */
import { parseArgs } from 'node:util';
import { Logger, type LoggerService } from '@nestjs/common';
import { deadLetterToJSON, type DeadLetter } from './dead-letters/dead-letter.js';
import { type DeadLetterFilter, DeadLetterReplayer, type ReplayResult } from './dead-letters/dead-letter-replayer.js';

const HELP = `Usage: kafka-nest dlt <command> [<dlt-topic>] --brokers host:port[,host:port...] [options]

Inspect, replay and park the records of a dead-letter topic (DLT) written by kafka-nest or Spring Kafka.

Commands:
  topics                   the dead-letter topics of the cluster (names ending in .DLT or -dlt)
  list <dlt-topic>         the dead letters, with their original topic/partition/offset and exception
  replay <dlt-topic>       produce the selected dead letters back to their original topic; a record
                           already replayed --max-replays times goes to <original>.parking instead
  park <dlt-topic>         move the selected dead letters to <original>.parking

Connection:
  --brokers <list>         bootstrap servers                            default: $KAFKA_BROKERS
  --client-id <id>         client id                                    default: kafka-nest-cli

list:
  --partition <n>          only this DLT partition                      default: all
  --from-offset <n>        first DLT offset of each partition           default: the earliest
  --limit <n>              records per partition                        default: 100
  --pending                only the records the replay group has not handled yet

replay and park (a record is selected when every given condition holds):
  --original-partition <n>     failed on this partition of the original topic
  --original-offsets <a-b>     failed at an original offset from a to b (inclusive); 'a-' or '-b' for open ends
  --since <time>               dead-lettered at or after <time> (ISO-8601, or ms since the epoch)
  --until <time>               dead-lettered before <time>
  --exception-class <name>     the exception class or its root cause's, e.g. PaymentGatewayDownError
  --records <p@o,...>          only these DLT records (partition@offset)
  --limit <n>                  replay or park at most n records in this run   default: no limit
  --dry-run                    show what would be done; produce and commit nothing
  --max-replays <n>            park a record already replayed n times         default: 3
  --parking-suffix <s>         parking topic = original topic + s             default: .parking
  --group <id>                 consumer group recording the progress          default: kafka-nest-dlt-replay.<dlt-topic>

Output:
  --json                   JSON instead of a table
  -h, --help               show this help

Progress is committed by the replay group after each record is produced (acks=all): a second run replays
nothing already replayed, and an interrupted run resumes where it stopped (at most one record replayed twice).`;

/** A command-line mistake: one line, exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${flag} expects a non-negative integer, got '${value}'`);
  return n;
}

function time(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new UsageError(`--${flag} expects an ISO-8601 time (2026-12-06T10:00:00Z) or ms since the epoch, got '${value}'`);
  return ms;
}

function filterOf(values: Record<string, string | boolean | undefined>): DeadLetterFilter | undefined {
  const filter: { -readonly [K in keyof DeadLetterFilter]: DeadLetterFilter[K] } = {};
  const partition = integer('original-partition', values['original-partition'] as string | undefined);
  if (partition !== undefined) filter.originalPartition = partition;
  const range = values['original-offsets'] as string | undefined;
  if (range !== undefined) {
    const m = /^(\d*)-(\d*)$/.exec(range);
    if (!m || (m[1] === '' && m[2] === '')) throw new UsageError(`--original-offsets expects from-to, e.g. 100-200, 100- or -200, got '${range}'`);
    if (m[1] !== '') filter.originalOffsetFrom = Number(m[1]);
    if (m[2] !== '') filter.originalOffsetTo = Number(m[2]);
  }
  const since = time('since', values.since as string | undefined);
  if (since !== undefined) filter.since = since;
  const until = time('until', values.until as string | undefined);
  if (until !== undefined) filter.until = until;
  if (values['exception-class'] !== undefined) filter.exceptionClass = values['exception-class'] as string;
  const records = values.records as string | undefined;
  if (records !== undefined) {
    filter.records = records.split(',').map((r) => {
      const m = /^(\d+)@(\d+)$/.exec(r.trim());
      if (!m) throw new UsageError(`--records expects partition@offset[,partition@offset...], e.g. 0@12,1@3, got '${r}'`);
      return { partition: Number(m[1]), offset: Number(m[2]) };
    });
  }
  return Object.keys(filter).length ? filter : undefined;
}

/** Rows as an aligned text table with a header line. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const oneLine = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ');

function valueText(letter: DeadLetter): string {
  if (letter.deserializedValue === undefined) return letter.value ? `<${letter.value.length} bytes>` : 'null';
  return typeof letter.deserializedValue === 'string' ? letter.deserializedValue : JSON.stringify(letter.deserializedValue);
}

function listTable(letters: readonly DeadLetter[]): string {
  if (letters.length === 0) return 'no dead letters';
  return formatTable(
    ['PARTITION', 'OFFSET', 'DEAD-LETTERED', 'STATUS', 'REPLAYS', 'ORIGINAL', 'EXCEPTION', 'MESSAGE', 'KEY', 'VALUE'],
    letters.map((l) => [
      String(l.partition),
      String(l.offset),
      new Date(l.timestamp).toISOString(),
      l.status,
      String(l.replayCount),
      `${l.original.topic ?? '?'}-${l.original.partition ?? '?'}@${l.original.offset ?? '?'}`,
      l.exception.className ?? '',
      clip(oneLine(l.exception.message), 60),
      clip(l.keyText ?? (l.key ? `<${l.key.length} bytes>` : 'null'), 24),
      clip(oneLine(valueText(l)), 60),
    ]),
  );
}

function resultTable(result: ReplayResult): string {
  const head = `${result.dryRun ? 'dry run: would replay' : 'replayed'} ${result.replayed}, ${result.dryRun ? 'park' : 'parked'} ${result.parked}, skipped ${result.skipped}`;
  if (result.records.length === 0) return head;
  return `${head}\n${formatTable(
    ['PARTITION', 'OFFSET', 'ACTION', 'TARGET', 'REPLAYS', 'EXCEPTION', 'REASON'],
    result.records.map((r) => [String(r.partition), String(r.offset), r.action, r.target ?? '', String(r.replayCount), r.exceptionClass ?? '', r.reason ?? '']),
  )}`;
}

/** kafkajs and the replayer log through Nest's Logger: warnings and errors to stderr, so stdout stays the output. */
const stderrLogger: LoggerService = {
  log: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  warn: (message: unknown) => void process.stderr.write(`warn: ${String(message)}\n`),
  error: (message: unknown) => void process.stderr.write(`error: ${String(message)}\n`),
};

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], out: (text: string) => void = (t) => void process.stdout.write(`${t}\n`)): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        brokers: { type: 'string' },
        'client-id': { type: 'string' },
        partition: { type: 'string' },
        'from-offset': { type: 'string' },
        limit: { type: 'string' },
        'original-partition': { type: 'string' },
        'original-offsets': { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        'exception-class': { type: 'string' },
        records: { type: 'string' },
        'dry-run': { type: 'boolean' },
        pending: { type: 'boolean' },
        'max-replays': { type: 'string' },
        'parking-suffix': { type: 'string' },
        group: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`kafka-nest: ${(err as Error).message}; see kafka-nest --help\n`);
    return 2;
  }
  if (values.help || positionals.length === 0) {
    out(HELP);
    return values.help ? 0 : 2;
  }
  try {
    const [area, command, topic, ...extra] = positionals;
    if (area !== 'dlt') throw new UsageError(`unknown command '${area}'; the commands are: dlt topics|list|replay|park`);
    if (!['topics', 'list', 'replay', 'park'].includes(command ?? '')) {
      throw new UsageError(`unknown dlt command '${command ?? ''}'; expected topics, list, replay or park`);
    }
    if (command !== 'topics' && topic === undefined) throw new UsageError(`dlt ${command} needs the dead-letter topic, e.g. kafka-nest dlt ${command} orders.DLT`);
    if (extra.length || (command === 'topics' && topic !== undefined)) throw new UsageError(`unexpected argument '${command === 'topics' ? topic : extra[0]}'`);
    const brokersText = (values.brokers as string | undefined) ?? process.env.KAFKA_BROKERS;
    if (!brokersText) throw new UsageError('--brokers is required (or set KAFKA_BROKERS), e.g. --brokers localhost:9092');
    const brokers = brokersText.split(',').map((b) => b.trim());
    const bad = brokers.find((b) => !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b));
    if (bad !== undefined) throw new UsageError(`--brokers has '${bad}', which is not host:port; e.g. --brokers kafka-1:9092,kafka-2:9092`);
    const listOnly = ['partition', 'from-offset', 'pending'].filter((f) => values[f] !== undefined);
    if (command !== 'list' && listOnly.length) throw new UsageError(`--${listOnly[0]} is for dlt list; replay and park select with --records or --original-partition`);
    const replayOnly = ['original-partition', 'original-offsets', 'since', 'until', 'exception-class', 'records', 'dry-run', 'max-replays', 'parking-suffix'].filter((f) => values[f] !== undefined);
    if ((command === 'list' || command === 'topics') && replayOnly.length) throw new UsageError(`--${replayOnly[0]} is for dlt replay and park`);

    const suffix = values['parking-suffix'] as string | undefined;
    const group = values.group as string | undefined;
    const maxReplays = integer('max-replays', values['max-replays'] as string | undefined);
    const limit = integer('limit', values.limit as string | undefined);
    if (limit === 0) throw new UsageError('--limit expects a positive integer, got 0');
    Logger.overrideLogger(stderrLogger);
    const replayer = new DeadLetterReplayer({
      client: { brokers, clientId: (values['client-id'] as string | undefined) ?? 'kafka-nest-cli' },
      ...(maxReplays !== undefined && { maxReplays }),
      ...(suffix !== undefined && { parkingTopic: (t: string) => `${t}${suffix}` }),
      ...(group !== undefined && { groupId: () => group }),
    });
    const json = values.json === true;
    if (command === 'topics') {
      const topics = await replayer.deadLetterTopics();
      out(json ? JSON.stringify(topics) : topics.length ? topics.join('\n') : 'no dead-letter topics');
    } else if (command === 'list') {
      const letters = await replayer.list({
        dltTopic: topic!,
        ...(values.partition !== undefined && { partition: integer('partition', values.partition as string) }),
        ...(values['from-offset'] !== undefined && { fromOffset: integer('from-offset', values['from-offset'] as string) }),
        ...(limit !== undefined && { limit }),
        pendingOnly: values.pending === true,
      });
      out(json ? JSON.stringify(letters.map(deadLetterToJSON), null, 2) : listTable(letters));
    } else {
      const filter = filterOf(values);
      const options = { dltTopic: topic!, dryRun: values['dry-run'] === true, ...(filter && { filter }), ...(limit !== undefined && { limit }) };
      const result = command === 'replay' ? await replayer.replay(options) : await replayer.park(options);
      out(json ? JSON.stringify(result, null, 2) : resultTable(result));
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kafka-nest: ${err.message}; see kafka-nest --help\n`);
      return 2;
    }
    process.stderr.write(`kafka-nest: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
