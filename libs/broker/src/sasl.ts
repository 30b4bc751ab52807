/**
 * Server side of the SASL mechanisms the embedded broker offers: PLAIN (RFC 4616) and SCRAM-SHA-256/512
 * (RFC 5802 / 7677, as Kafka uses them: no channel binding, usernames without `=`/`,` escaping needs).
 * Each exchange is a small state machine fed the client's tokens; it answers the next server token, or
 * `done` with the authenticated user. Passwords are never logged or echoed in an error.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export type SaslStep = { kind: 'continue'; token: Buffer } | { kind: 'done'; user: string; token: Buffer } | { kind: 'failed'; reason: string };

export interface SaslExchange {
  step(token: Buffer): SaslStep;
}

const FAILED: SaslStep = { kind: 'failed', reason: 'Authentication failed: invalid username or password' };

export function startExchange(mechanism: SaslMechanism, users: Readonly<Record<string, string>>): SaslExchange {
  return mechanism === 'PLAIN' ? new PlainExchange(users) : new ScramExchange(mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', users);
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

class PlainExchange implements SaslExchange {
  constructor(private readonly users: Readonly<Record<string, string>>) {}

  step(token: Buffer): SaslStep {
    // message = [authzid] NUL authcid NUL passwd
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) return { kind: 'failed', reason: 'Authentication failed: malformed PLAIN message' };
    const [, user, password] = parts;
    const expected = Object.hasOwn(this.users, user) ? this.users[user] : undefined;
    if (expected === undefined || !safeEqual(Buffer.from(password), Buffer.from(expected))) return FAILED;
    return { kind: 'done', user, token: Buffer.alloc(0) };
  }
}

class ScramExchange implements SaslExchange {
  private state: 'first' | 'final' | 'over' = 'first';
  private user = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private salted: Buffer | null = null;
  private readonly iterations = 4096;

  constructor(
    private readonly hash: 'sha256' | 'sha512',
    private readonly users: Readonly<Record<string, string>>,
  ) {}

  private hmac(key: Buffer, data: string | Buffer): Buffer {
    return createHmac(this.hash, key).update(data).digest();
  }

  step(token: Buffer): SaslStep {
    const message = token.toString('utf8');
    if (this.state === 'first') {
      // client-first-message = gs2-header ("n,," or "n,a=...,") client-first-message-bare ("n=user,r=nonce")
      const m = /^[ny],[^,]*,(n=([^,]*),r=([^,]+).*)$/.exec(message);
      if (!m) return { kind: 'failed', reason: 'Authentication failed: malformed SCRAM client-first message' };
      this.clientFirstBare = m[1];
      this.user = m[2].replace(/=2C/g, ',').replace(/=3D/g, '=');
      const password = Object.hasOwn(this.users, this.user) ? this.users[this.user] : undefined;
      const salt = randomBytes(16);
      // An unknown user still gets a challenge, so the answer does not reveal which users exist.
      this.salted = password === undefined ? null : pbkdf2Sync(password, salt, this.iterations, this.hash === 'sha256' ? 32 : 64, this.hash);
      this.nonce = m[3] + randomBytes(18).toString('base64');
      this.serverFirst = `r=${this.nonce},s=${salt.toString('base64')},i=${this.iterations}`;
      this.state = 'final';
      return { kind: 'continue', token: Buffer.from(this.serverFirst) };
    }
    if (this.state === 'final') {
      this.state = 'over';
      const m = /^(c=[^,]*,r=([^,]+)(?:,[^p][^,]*)*),p=([^,]+)$/.exec(message);
      // The client's nonce must end with ours, as Kafka checks (not equal it, as RFC 5802 says): librdkafka 2.0
      // sends its own nonce again in front of the combined one. The proof covers the message as sent.
      if (!m || !m[2].endsWith(this.nonce) || !this.salted) return FAILED;
      const authMessage = `${this.clientFirstBare},${this.serverFirst},${m[1]}`;
      const clientKey = this.hmac(this.salted, 'Client Key');
      const storedKey = createHash(this.hash).update(clientKey).digest();
      const signature = this.hmac(storedKey, authMessage);
      const proof = Buffer.from(m[3], 'base64');
      if (proof.length !== signature.length) return FAILED;
      const recovered = Buffer.alloc(proof.length);
      for (let i = 0; i < proof.length; i++) recovered[i] = proof[i] ^ signature[i];
      if (!safeEqual(createHash(this.hash).update(recovered).digest(), storedKey)) return FAILED;
      const serverSignature = this.hmac(this.hmac(this.salted, 'Server Key'), authMessage);
      return { kind: 'done', user: this.user, token: Buffer.from(`v=${serverSignature.toString('base64')}`) };
    }
    return { kind: 'failed', reason: 'Authentication failed: unexpected SCRAM message' };
  }
}
