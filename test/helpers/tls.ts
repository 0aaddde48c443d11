/**
 * TLS material for tests, made with the system openssl: whether it exists,
 * and a throwaway self-signed certificate for 127.0.0.1 (an IP SAN, as peers
 * dial by address) that serves as CA, server and client certificate at once.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import https from 'node:https';
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

/** Client TLS material: a certificate and key to present, and the CA to verify the server with. */
export interface ClientTls {
  cert: string;
  key: string;
  ca: string;
}

/** GET over HTTPS presenting a client certificate (a node with mutual TLS asks every client for one); status and body text. */
export function httpsGet(url: string, tls: ClientTls): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
}
