/**
 * Server side of the SASL mechanisms the embedded broker offers: PLAIN (RFC 4616) and SCRAM-SHA-256/512
 * (RFC 5802 / 7677, as Kafka uses them: no channel binding, usernames without `=`/`,` escaping needs).
 * Each exchange is a small state machine fed the client's tokens; it answers the next server token, or
 * `done` with the authenticated user. Passwords are never logged or echoed in an error.
 *
 * SCRAM credentials (salt, StoredKey, ServerKey) are computed once when the broker starts, as Kafka stores
 * them, so an exchange costs a few HMACs instead of 4096 PBKDF2 iterations: unauthenticated clients cannot
 * make the broker burn CPU per attempt. An unknown user gets a fake credential derived from a per-broker
 * secret (the same salt on every attempt) and goes through the same steps, so neither the answer nor its
 * timing tells whether a user exists, as Kafka's ScramSaslServer does.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export type SaslStep = { kind: 'continue'; token: Buffer } | { kind: 'done'; user: string; token: Buffer } | { kind: 'failed'; reason: string };

export interface SaslExchange {
  step(token: Buffer): SaslStep;
}

const FAILED: SaslStep = { kind: 'failed', reason: 'Authentication failed: invalid username or password' };

type ScramHash = 'sha256' | 'sha512';

/** What the server keeps of a SCRAM user (RFC 5802): never the password itself. */
interface ScramCredential {
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** SCRAM iterations, Kafka's minimum and the clients' usual choice. */
const SCRAM_ITERATIONS = 4096;

/** The users of a broker, with their SCRAM credentials computed once. */
export class SaslCredentials {
  private readonly scram = new Map<ScramHash, Map<string, ScramCredential>>();
  /** Derives fake credentials for unknown users; random per broker, so they cannot be predicted. */
  private readonly fakeSecret = randomBytes(32);

  constructor(readonly users: Readonly<Record<string, string>>) {
    for (const hash of ['sha256', 'sha512'] as const) {
      const byUser = new Map<string, ScramCredential>();
      for (const [user, password] of Object.entries(users)) {
        const salt = randomBytes(16);
        const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, hash === 'sha256' ? 32 : 64, hash);
        const clientKey = createHmac(hash, salted).update('Client Key').digest();
        byUser.set(user, {
          salt,
          storedKey: createHash(hash).update(clientKey).digest(),
          serverKey: createHmac(hash, salted).update('Server Key').digest(),
        });
      }
      this.scram.set(hash, byUser);
    }
  }

  /** The user's SCRAM credential, or for an unknown user a fake one, the same on every call. */
  scramCredential(hash: ScramHash, user: string): ScramCredential {
    const known = this.scram.get(hash)!.get(user);
    if (known) return known;
    const derive = (label: string) => createHmac(hash, this.fakeSecret).update(`${label}\u0000${user}`).digest();
    return { salt: derive('salt').subarray(0, 16), storedKey: derive('stored-key'), serverKey: derive('server-key') };
  }
}

export function startExchange(mechanism: SaslMechanism, credentials: SaslCredentials): SaslExchange {
  return mechanism === 'PLAIN' ? new PlainExchange(credentials.users) : new ScramExchange(mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', credentials);
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
  private credential: ScramCredential | null = null;

  constructor(
    private readonly hash: ScramHash,
    private readonly credentials: SaslCredentials,
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
      // An unknown user gets a fake credential and the same steps, so neither answer nor timing reveals it.
      this.credential = this.credentials.scramCredential(this.hash, this.user);
      this.nonce = m[3] + randomBytes(18).toString('base64');
      this.serverFirst = `r=${this.nonce},s=${this.credential.salt.toString('base64')},i=${SCRAM_ITERATIONS}`;
      this.state = 'final';
      return { kind: 'continue', token: Buffer.from(this.serverFirst) };
    }
    if (this.state === 'final') {
      this.state = 'over';
      const m = /^(c=[^,]*,r=([^,]+)(?:,[^p][^,]*)*),p=([^,]+)$/.exec(message);
      // The client's nonce must end with ours, as Kafka checks (not equal it, as RFC 5802 says): librdkafka 2.0
      // sends its own nonce again in front of the combined one. The proof covers the message as sent.
      if (!m || !m[2].endsWith(this.nonce) || !this.credential) return FAILED;
      const { storedKey, serverKey } = this.credential;
      const authMessage = `${this.clientFirstBare},${this.serverFirst},${m[1]}`;
      const signature = this.hmac(storedKey, authMessage);
      const proof = Buffer.from(m[3], 'base64');
      if (proof.length !== signature.length) return FAILED;
      const recovered = Buffer.alloc(proof.length);
      for (let i = 0; i < proof.length; i++) recovered[i] = proof[i] ^ signature[i];
      if (!safeEqual(createHash(this.hash).update(recovered).digest(), storedKey)) return FAILED;
      const serverSignature = this.hmac(serverKey, authMessage);
      return { kind: 'done', user: this.user, token: Buffer.from(`v=${serverSignature.toString('base64')}`) };
    }
    return { kind: 'failed', reason: 'Authentication failed: unexpected SCRAM message' };
  }
}
