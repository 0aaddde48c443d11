import { describe, expect, it } from 'vitest';
import { dialFailure } from '../../../transport/ws/dial-failure.js';

const err = (message: string, code?: string): Error & { code?: string } => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('dialFailure', () => {
  it('names the reason of each kind of failed connect', () => {
    expect(dialFailure(err('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'))).toEqual({ reason: 'refused', detail: 'connect ECONNREFUSED 127.0.0.1:9' });
    expect(dialFailure(err('getaddrinfo ENOTFOUND nowhere.invalid', 'ENOTFOUND')).reason).toBe('dns');
    expect(dialFailure(err('connect EHOSTUNREACH 10.9.9.9:7070', 'EHOSTUNREACH')).reason).toBe('unreachable');
    expect(dialFailure(err('connect ETIMEDOUT 10.9.9.9:7070', 'ETIMEDOUT')).reason).toBe('timeout');
    expect(dialFailure(err('Opening handshake has timed out')).reason).toBe('timeout');
    expect(dialFailure(err('Unexpected server response: 503'))).toEqual({ reason: 'http', detail: 'Unexpected server response: 503' });
  });

  it('calls certificate problems tls, keeping the OpenSSL code in the detail', () => {
    expect(dialFailure(err('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toEqual({
      reason: 'tls',
      detail: 'unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    });
    expect(dialFailure(err('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')).reason).toBe('tls');
    expect(dialFailure(err("Hostname/IP does not match certificate's altnames: IP: 10.0.0.2 is not in the cert's list: 127.0.0.1", 'ERR_TLS_CERT_ALTNAME_INVALID')).reason).toBe('tls');
    expect(dialFailure(err('tlsv1 alert unknown ca', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')).reason).toBe('tls');
  });

  it('says closed when there was no error, and hints at client certificates on a reset', () => {
    expect(dialFailure(undefined, 1006)).toEqual({ reason: 'closed', detail: 'connection closed before opening (code 1006)' });
    const reset = dialFailure(err('socket hang up', 'ECONNRESET'));
    expect(reset.reason).toBe('closed');
    expect(reset.detail).toContain('client certificate');
    expect(dialFailure(err('something odd')).reason).toBe('error');
  });
});
