import { type DynamicModule, Module } from '@nestjs/common';
import { DeadLetterPublishingRecoverer, DefaultErrorHandler, FixedBackOff, KafkaConsoleModule, KafkaModule, KafkaTemplate } from '@kafka-nest/core';
import { Registry } from 'prom-client';
import { APP_CONFIG, METRICS_REGISTRY, type ResolvedAppConfig } from './app.config.js';
import { DemoProducer } from './demo/demo-producer.js';
import { ProgressReporter } from './demo/progress-reporter.js';
import { HealthController } from './ops/health.controller.js';
import { LoopbackOnlyGuard } from './ops/loopback-only.guard.js';
import { MetricsController } from './ops/metrics.controller.js';
import { OrderStats } from './orders/order-stats.service.js';
import { OrdersController } from './orders/orders.controller.js';
import { ORDERS_ERROR_HANDLER, OrdersListener } from './orders/orders.listener.js';
import { OrdersDltListener } from './orders/orders-dlt.listener.js';
import { PaymentsListener } from './payments/payments.listener.js';

@Module({})
export class AppModule {
  static forConfig(config: ResolvedAppConfig): DynamicModule {
    const registry = new Registry();
    return {
      module: AppModule,
      imports: [
        KafkaModule.forRoot({
          client: { clientId: 'kafka-nest-sample', brokers: config.brokers },
          metrics: { registry },
        }),
        // The operator's console at /kafka: containers, lag, dead letters with replay and park.
        KafkaConsoleModule.register({ path: 'kafka', guards: [LoopbackOnlyGuard] }),
      ],
      controllers: [OrdersController, HealthController, MetricsController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: METRICS_REGISTRY, useValue: registry },
        // Spring's bean, Nest style: two retries 200 ms apart, then orders.DLT with the failure headers.
        {
          provide: ORDERS_ERROR_HANDLER,
          inject: [KafkaTemplate],
          useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(200, 2)),
        },
        OrderStats,
        OrdersListener,
        OrdersDltListener,
        PaymentsListener,
        ProgressReporter,
        ...(config.demo ? [DemoProducer] : []),
      ],
    };
  }
}
