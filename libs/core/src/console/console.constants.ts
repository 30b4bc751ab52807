/** DI token of the console's resolved options. Internal. */
export const KAFKA_CONSOLE_OPTIONS = Symbol('kafka-nest:console-options');

export interface ResolvedConsoleOptions {
  readonly title: string;
  /** The CSRF token of this application instance. */
  readonly token: string;
  /** How long a lag read may take before the console shows the container without it. */
  readonly lagTimeoutMs: number;
}
