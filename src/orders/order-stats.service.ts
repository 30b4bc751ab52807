import { Injectable } from '@nestjs/common';

/** Counters the demo prints; the same figures are in /metrics. */
@Injectable()
export class OrderStats {
  processed = 0;
  failedDeliveries = 0;
  deadLettered = 0;
  paymentsCharged = 0;
  paymentRetries = 0;
  paymentsDeadLettered = 0;
}
