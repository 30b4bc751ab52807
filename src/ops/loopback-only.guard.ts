import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The sample's guard on the kafka-nest console: only requests from this machine. With HOST=0.0.0.0 (so
 * that a Prometheus elsewhere can scrape /metrics) the console still answers only locally. A real
 * application puts its authentication and role guards here instead.
 */
@Injectable()
export class LoopbackOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const address = context.switchToHttp().getRequest<{ socket?: { remoteAddress?: string } }>().socket?.remoteAddress;
    if (address !== undefined && LOOPBACK.has(address)) return true;
    throw new ForbiddenException('the kafka-nest console answers requests from this machine only');
  }
}
