/** A throwaway TLS identity for the broker's TLS tests: a self-signed certificate for 127.0.0.1 and localhost. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SelfSigned {
  readonly key: Buffer;
  /** PEM, also the CA a client trusts. */
  readonly cert: string;
  /** The certificate's file, for clients that take a path (librdkafka's ssl.ca.location, kafka-python's ssl_cafile). */
  readonly certFile: string;
}

/** Makes a key and a self-signed certificate with openssl, valid for a day. */
export function selfSignedCertificate(): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-nest-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyFile), cert: readFileSync(certFile, 'utf8'), certFile };
}
