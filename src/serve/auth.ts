/**
 * Who may talk to the dashboard. A loopback bind without a token trusts the machine's users but checks the
 * Host header (a DNS-rebinding page at evil.example resolving to 127.0.0.1 would otherwise read the API).
 * Any other bind needs the token: `?token=` once (then an HttpOnly SameSite=Strict cookie), or
 * `Authorization: Bearer` (Prometheus' bearer_token). Comparisons are constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Equal-length digests, so neither the content nor the length of the token leaks through timing. */
export function tokenEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function cookieName(port: number): string {
  // Cookies ignore ports: two dashboards on one host must not overwrite each other's.
  return `memsleuth_token_${port}`;
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** Host header values a loopback dashboard answers to: the usual loopback names, and the address it is bound to (127.0.0.2). */
export function allowedHosts(port: number, bound?: string): Set<string> {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  if (bound !== undefined && bound !== '' && isLoopback(bound)) hosts.add(isIP(bound) === 6 ? `[${bound.toLowerCase()}]:${port}` : `${bound}:${port}`);
  return hosts;
}
