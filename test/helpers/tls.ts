/**
 * TLS material for tests, made with the system openssl: whether it exists,
 * and a throwaway self-signed certificate for 127.0.0.1 (an IP SAN, as peers
 * dial by address) that serves as CA, server and client certificate at once.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** True when an openssl binary is on this machine (TLS tests skip, with their name shown, when not). */
export const HAS_OPENSSL = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/** Writes `cert.pem` and `key.pem` for 127.0.0.1, valid one day, into `dir`; returns their paths. */
export function selfSignedCert(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}
