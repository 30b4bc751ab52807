/**
 * The console's protection against cross-site requests, on every state-changing (POST) route:
 *   - the `X-Kafka-Console-Token` header must carry the token of this application instance, which only the
 *     console page (a same-origin GET) embeds; a custom header also makes a browser ask CORS permission first,
 *     which the console never grants;
 *   - the body must be `application/json` (a cross-site HTML form cannot send that);
 *   - when the browser says where the request comes from (`Origin`, `Sec-Fetch-Site`), it must be this origin.
 */
import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { KAFKA_CONSOLE_OPTIONS, type ResolvedConsoleOptions } from './console.constants.js';

/** Header the console page sends its token in. */
export const CONSOLE_TOKEN_HEADER = 'x-kafka-console-token';

interface RequestLike {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * Guards the console's POST routes against cross-site requests (see the file header); `KafkaConsoleModule`
 * applies it after the application's guards. A refused request gets a 403 saying which check failed.
 */
@Injectable()
export class ConsoleCsrfGuard implements CanActivate {
  private readonly token: string;

  constructor(@Inject(KAFKA_CONSOLE_OPTIONS) options: ResolvedConsoleOptions) {
    this.token = options.token;
  }

  canActivate(context: ExecutionContext): boolean {
    const { headers } = context.switchToHttp().getRequest<RequestLike>();
    const sent = Buffer.from(first(headers[CONSOLE_TOKEN_HEADER]) ?? '', 'utf8');
    const expected = Buffer.from(this.token, 'utf8');
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new ForbiddenException(`kafka-nest console: missing or wrong ${CONSOLE_TOKEN_HEADER} header; reload the console page`);
    }
    const type = first(headers['content-type']) ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw new ForbiddenException('kafka-nest console: actions take a JSON body (Content-Type: application/json)');
    }
    const site = first(headers['sec-fetch-site']);
    if (site !== undefined && site !== 'same-origin') {
      throw new ForbiddenException(`kafka-nest console: cross-site request refused (Sec-Fetch-Site: ${site})`);
    }
    const origin = first(headers.origin);
    const host = first(headers['x-forwarded-host']) ?? first(headers.host);
    if (origin !== undefined && origin !== 'null') {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = undefined;
      }
      if (originHost !== host) throw new ForbiddenException(`kafka-nest console: cross-origin request refused (Origin ${origin}, host ${host ?? 'unknown'})`);
    } else if (origin === 'null') {
      throw new ForbiddenException('kafka-nest console: request from an opaque origin refused');
    }
    return true;
  }
}
