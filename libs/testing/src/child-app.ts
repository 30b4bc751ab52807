/**
 * Runs an application in a child process, so that a test can kill it for real (SIGKILL leaves no chance
 * to clean up, SIGTERM runs Nest's shutdown hooks) and start it again. TypeScript entries run through
 * `@swc-node/register`, which honours the tsconfig path aliases and decorator metadata. The child talks
 * back over the IPC channel: `notifyParent({ type: 'ready' })` once it is up; the parent can talk to it too
 * (`send`, received in the child with `onParentMessage`), e.g. to steer it into a state before a kill.
 */
import { type ChildProcess, fork } from 'node:child_process';

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildAppOptions {
  /** Path of the entry file (`.ts` or `.js`). */
  readonly entry: string;
  /** Added to the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default process.cwd() (where tsconfig.json is found) */
  readonly cwd?: string;
  /** Node options placed before the entry. @default ['--import', '@swc-node/register/esm-register'] */
  readonly execArgv?: readonly string[];
  /** Last output lines kept for error messages. @default 50 */
  readonly keepLines?: number;
}

/** A message a child sends with `notifyParent`. */
export interface ChildMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Sends a message to the parent that started this process with `ChildApp.start`; a no-op without one. */
export function notifyParent(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * Calls `listener` with each message the parent sends with `ChildApp.send`; returns a function that stops
 * listening. The channel does not keep the child alive: it still exits when it has nothing else to do.
 */
export function onParentMessage(listener: (message: ChildMessage) => void): () => void {
  const receive = (m: unknown) => {
    if (m && typeof m === 'object' && typeof (m as ChildMessage).type === 'string') listener(m as ChildMessage);
  };
  process.on('message', receive);
  process.channel?.unref();
  return () => void process.off('message', receive);
}

/** An application running in a child process. */
export class ChildApp {
  /** Messages received so far, in order. */
  readonly messages: ChildMessage[] = [];
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<ChildExit>;
  private readonly output: string[] = [];
  private exit: ChildExit | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly keepLines: number,
  ) {
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.output.push(line);
        if (this.output.length > keepLines) this.output.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (m) => {
      if (m && typeof m === 'object' && typeof (m as ChildMessage).type === 'string') this.messages.push(m as ChildMessage);
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
    });
  }

  /** Starts the entry in a new Node process. */
  static start(options: ChildAppOptions): ChildApp {
    const child = fork(options.entry, [], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      execArgv: [...(options.execArgv ?? ['--import', '@swc-node/register/esm-register'])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new ChildApp(child, options.keepLines ?? 50);
  }

  /** Process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.exit === undefined;
  }

  /** The last lines the child wrote to stdout and stderr. */
  get recentOutput(): string {
    return this.output.join('\n');
  }

  /**
   * Resolves with the first message (already received or to come) that `match` accepts; rejects if the
   * process exits first or after `timeoutMs`.
   */
  waitForMessage(match: string | ((m: ChildMessage) => boolean), timeoutMs = 30_000): Promise<ChildMessage> {
    const accept = typeof match === 'string' ? (m: ChildMessage) => m.type === match : match;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(accept);
        if (found) return done(() => resolve(found));
        if (this.exit) {
          done(() => reject(new Error(`child ${this.pid} exited (${this.describeExit()}) before the awaited message\n${this.recentOutput}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`child ${this.pid}: no awaited message after ${timeoutMs} ms\n${this.recentOutput}`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Sends a message to the child (it receives it with `onParentMessage`); returns false if the child has
   * exited or its channel is closed, so nothing was sent.
   */
  send(message: ChildMessage): boolean {
    if (this.exit || !this.child.connected) return false;
    try {
      // With a callback, a channel that closes before delivery is reported there, not as an 'error' event.
      return this.child.send(message, () => undefined);
    } catch {
      return false; // the channel closed meanwhile: the child is dying
    }
  }

  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ChildExit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    return this.exited;
  }

  /** Sends `signal` and waits up to `timeoutMs` for the exit; then kills it and rejects. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<ChildExit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const result = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (result !== 'late') return result;
    await this.kill('SIGKILL');
    throw new Error(`child ${this.pid} did not exit within ${timeoutMs} ms of ${signal}; killed\n${this.recentOutput}`);
  }

  private describeExit(): string {
    return this.exit?.signal ? `signal ${this.exit.signal}` : `code ${this.exit?.code}`;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
