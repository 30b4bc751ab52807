/** Where the broker's log lines go. The default writes warnings and errors to stderr. */
export interface BrokerLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLogger: BrokerLogger = {
  debug: () => {},
  info: () => {},
  warn: (m) => console.warn(`[kafka-nest broker] ${m}`),
  error: (m) => console.error(`[kafka-nest broker] ${m}`),
};

export const silentLogger: BrokerLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
