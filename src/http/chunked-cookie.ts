import { clearCookie, readCookieValues, serializeCookie, type CookieSpec } from './cookies.js';

/** Browsers keep ~4096 bytes per cookie including name and attributes. */
export const CHUNK_SIZE = 3800;

/** Names present in the request that belong to `base`: `base` itself and `base.N`. */
export function chunkNames(header: string | undefined, base: string): string[] {
  if (!header) return [];
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.\\d{1,2})?$`);
  const names = new Set<string>();
  for (const part of header.split(';')) {
    const name = part.split('=', 1)[0]!.trim();
    if (re.test(name)) names.add(name);
  }
  return [...names];
}

/**
 * The value under `base`, or the concatenation of `base.0`, `base.1`, … when it
 * was split. Latchkey never leaves both (a write clears the other form), so a
 * request with a whole cookie and chunks, like one with two whole cookies,
 * carries one planted by someone else (a sibling subdomain, say): null, rather
 * than a guess at which session is the user's (C6).
 */
export function readChunked(header: string | undefined, base: string): string | null {
  const whole = readCookieValues(header, base);
  if (whole.length > 1) return null;
  if (whole.length === 1) return chunkNames(header, base).some((name) => name !== base) ? null : whole[0]!;
  return joinedChunks(header, base);
}

/**
 * Every value the request may hold for `base`, for a logout to end them all: each
 * `base` cookie (a request can carry several of one name, say one planted by
 * another subdomain beside the real one), and the chunks joined. At most four.
 */
export function readAllChunked(header: string | undefined, base: string): string[] {
  const values = new Set(readCookieValues(header, base).filter(Boolean));
  const joined = joinedChunks(header, base);
  if (joined) values.add(joined);
  return [...values].slice(0, 4);
}

function joinedChunks(header: string | undefined, base: string): string | null {
  let value = '';
  for (let i = 0; i < 32; i++) {
    const part = readCookieValues(header, `${base}.${i}`);
    if (part.length !== 1) break;
    value += part[0];
  }
  return value === '' ? null : value;
}

/** Set-Cookie lines that store `value` (split when large) and clear stale chunks the request had. */
export function writeChunked(spec: CookieSpec, value: string, maxAgeSeconds: number, header: string | undefined): string[] {
  const parts = value.length <= CHUNK_SIZE ? [value] : Array.from({ length: Math.ceil(value.length / CHUNK_SIZE) }, (_, i) => value.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE));
  const names = parts.length === 1 ? [spec.name] : parts.map((_, i) => `${spec.name}.${i}`);
  const lines = parts.map((p, i) => serializeCookie({ ...spec, name: names[i]! }, p, maxAgeSeconds));
  for (const stale of chunkNames(header, spec.name)) if (!names.includes(stale)) lines.push(clearCookie({ ...spec, name: stale }));
  return lines;
}

/** Clears `base` and every chunk of it the request carried, with the attributes they were set with. */
export function clearChunked(spec: CookieSpec, header: string | undefined): string[] {
  const names = new Set([spec.name, ...chunkNames(header, spec.name)]);
  return [...names].map((name) => clearCookie({ ...spec, name }));
}
