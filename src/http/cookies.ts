/**
 * Cookie reading and writing, written here rather than taken from a library
 * for two reasons the seeds force: reading must see *every* value of an exact
 * name (cookie tossing sends duplicates; common parsers keep only the first),
 * and clearing must repeat the exact attributes a cookie was set with.
 */
export interface CookieSpec {
  name: string;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax' | 'None' | null;
  domain: string | null;
  partitioned?: boolean;
}

// Node refuses request headers over 16 KiB in total anyway (--max-http-header-size).
const MAX_COOKIE_HEADER = 16 * 1024;

/** Every value sent under exactly `name` (case-sensitive, no look-alikes), in header order. */
export function readCookieValues(header: string | undefined, name: string): string[] {
  if (!header || header.length > MAX_COOKIE_HEADER) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    if (value !== '') out.push(value);
  }
  return out;
}

/** `Set-Cookie` value; `maxAgeSeconds` 0 clears. Attribute order follows the seeds. */
export function serializeCookie(spec: CookieSpec, value: string, maxAgeSeconds: number): string {
  const parts = [`${spec.name}=${encodeURIComponent(value)}`];
  if (spec.httpOnly) parts.push('HttpOnly');
  if (spec.secure) parts.push('Secure');
  if (spec.sameSite) parts.push(`SameSite=${spec.sameSite}`);
  parts.push(`Path=${spec.path}`);
  if (spec.domain) parts.push(`Domain=${spec.domain}`);
  if (spec.partitioned) parts.push('Partitioned');
  parts.push(`Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`);
  return parts.join('; ');
}

export function clearCookie(spec: CookieSpec): string {
  return serializeCookie(spec, '', 0);
}
