/**
 * TLS material for tests, made with the system openssl: whether it exists,
 * and a throwaway self-signed certificate for 127.0.0.1 (an IP SAN, as peers
 * dial by address) that serves as CA, server and client certificate at once.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** True when an openssl binary is on this machine (TLS tests skip, with their name shown, when not). */
export const HAS_OPENSSL = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/**
 * Writes `cert.pem` and `key.pem` for 127.0.0.1, valid one day, into `dir`;
 * returns their paths. `cn` names the subject: certificates that must be
 * told apart in one CA bundle need different subjects.
 */
export function selfSignedCert(dir: string, cn = '127.0.0.1'): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}
