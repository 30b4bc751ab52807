/** DI tokens and the resolved settings the application runs with. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

export interface ResolvedAppConfig {
  /** Bootstrap servers in use (the embedded broker's when `embedded`). */
  readonly brokers: string[];
  readonly embedded: boolean;
  readonly demo: boolean;
  /** Milliseconds between progress lines; 0 = no progress lines. */
  readonly progressIntervalMs: number;
}
