/**
 * Tracing for the sample application, off by default: `OTEL_TRACES_EXPORTER=console` registers the
 * OpenTelemetry SDK (NodeTracerProvider: AsyncLocalStorage context, W3C trace-context propagator) with a
 * console exporter, so each span kafka-nest makes (send, process, the dead-letter publish) is printed as it
 * ends. kafka-nest itself depends only on `@opentelemetry/api`; the SDK is the application's choice, and is
 * loaded only when asked for.
 */
export type TracesExporter = 'console' | 'none';

/** A registered tracer provider; `shutdown()` flushes and unregisters it. */
export interface RunningTracing {
  shutdown(): Promise<void>;
}

export async function startTracing(exporter: TracesExporter): Promise<RunningTracing | undefined> {
  if (exporter === 'none') return undefined;
  const { ConsoleSpanExporter, NodeTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { context, propagation, trace } = await import('@opentelemetry/api');
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
  provider.register();
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
