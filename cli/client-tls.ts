/**
 * TLS for the client commands (`status`, `consume`): the client certificate
 * a daemon with mutual TLS (`tls.caFile`) asks for (`--tls-cert`,
 * `--tls-key`: the names `start` uses for the certificate a process
 * presents), the CA that signed the daemon's own certificate (`--tls-ca`), and a sentence
 * for each way a TLS connection fails, instead of `UND_ERR_SOCKET`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ClientError } from './client-error.js';

/** PEM material for an https request. */
export interface ClientTls {
  cert?: string;
  key?: string;
  ca?: string;
}

/** The flags {@link addTlsFlags} adds. */
export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** Adds `--tls-cert`, `--tls-key` and `--tls-ca` to a client command. */
export function addTlsFlags(command: Command): Command {
  return command
    .option('--tls-cert <path>', 'PEM client certificate, for a daemon with mutual TLS (tls.caFile)')
    .option('--tls-key <path>', 'PEM private key of --tls-cert')
    .option('--tls-ca <path>', "PEM CA that signed the daemon's certificate (default: the system's CAs)");
}

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ClientError(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * Reads the files the TLS flags name; undefined when none is given.
 * @throws ClientError for an unreadable file, a certificate without its key (or the reverse), or TLS flags with an http:// URL.
 */
export function readClientTls(flags: TlsFlags, url: string): ClientTls | undefined {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined && flags.tlsCa === undefined) return undefined;
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new ClientError(flags.tlsCert === undefined ? '--tls-key needs its certificate: pass --tls-cert too' : '--tls-cert needs its private key: pass --tls-key too');
  }
  if (!url.startsWith('https:')) throw new ClientError(`--tls-cert, --tls-key and --tls-ca need an https:// URL, got ${url}`);
  const tls: ClientTls = {};
  if (flags.tlsCert !== undefined) tls.cert = readPem('--tls-cert', flags.tlsCert);
  if (flags.tlsKey !== undefined) tls.key = readPem('--tls-key', flags.tlsKey);
  if (flags.tlsCa !== undefined) tls.ca = readPem('--tls-ca', flags.tlsCa);
  return tls;
}

/** Verification failures of the daemon's certificate (OpenSSL's names, as Node reports them). */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
]);

/**
 * What a failed https request means for the operator, or undefined when the
 * error is not about TLS.
 *
 * @param sentCert true when a client certificate was presented.
 */
export function describeTlsFailure(err: NodeJS.ErrnoException, sentCert: boolean): string | undefined {
  const code = err.code ?? '';
  if (UNTRUSTED.has(code)) return `the daemon's certificate is not signed by a CA this client trusts (${code}): pass --tls-ca with the CA that signed it`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the daemon's certificate does not name the host in --url (${err.message}): use a name or IP address from its subjectAltName`;
  if (code === 'CERT_HAS_EXPIRED') return "the daemon's certificate has expired";
  // The daemon asked for a client certificate and got none (TLS 1.3 alert 116; TLS 1.2 ends the handshake).
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || (!sentCert && /ALERT_HANDSHAKE_FAILURE|ECONNRESET/.test(code))) {
    return 'the daemon requires a client certificate (mutual TLS: its tls.caFile is set): pass --tls-cert and --tls-key, signed by that CA';
  }
  // With TLS 1.3 the client's handshake ends before the server checks the certificate: the refusal
  // arrives as an alert, or, when the server closes first, as a reset of the connection.
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|DECRYPT_ERROR|CERTIFICATE_UNKNOWN)/.test(code) || (sentCert && code === 'ECONNRESET')) {
    return `the daemon refused the client certificate (${code}): it must be signed by the CA in the daemon's tls.caFile`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') return 'the daemon does not speak TLS on this port: use an http:// URL';
  return undefined;
}
