/** Reading tokens out of an upstream's answers, whatever it calls them. */
export const ACCESS_TOKEN_FIELDS = ['access_token', 'accessToken', 'token'] as const;
export const REFRESH_TOKEN_FIELDS = ['refresh_token', 'refreshToken'] as const;
export const EXPIRES_IN_FIELDS = ['expires_in', 'expiresIn'] as const;

const MAX_TOKEN = 8192;

/** The first string field of `names`, at the top level or under `data`. */
export function pickField(json: unknown, names: readonly string[]): string | null {
  for (const obj of [json, (json as { data?: unknown } | null)?.data]) {
    if (!obj || typeof obj !== 'object') continue;
    for (const n of names) {
      const v = (obj as Record<string, unknown>)[n];
      if (typeof v === 'string' && v.length > 0 && v.length <= MAX_TOKEN) return v;
    }
  }
  return null;
}

export function pickNumber(json: unknown, names: readonly string[]): number | null {
  for (const obj of [json, (json as { data?: unknown } | null)?.data]) {
    if (!obj || typeof obj !== 'object') continue;
    for (const n of names) {
      const v = (obj as Record<string, unknown>)[n];
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
    }
  }
  return null;
}

/**
 * `exp` of a JWT in ms, read WITHOUT verification: only used to bound how long
 * Latchkey keeps retrying a revocation, never to trust the token.
 */
export function unverifiedJwtExpiry(token: string): number | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const exp = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** The value of cookie `name` in an upstream's Set-Cookie headers, if it set one. */
export function cookieFromSetCookie(headers: Headers, name: string): string | null {
  for (const line of headers.getSetCookie()) {
    const pair = line.split(';', 1)[0]!;
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      const v = pair.slice(eq + 1).trim();
      return v === '' ? null : decodeURIComponentSafe(v);
    }
  }
  return null;
}

function decodeURIComponentSafe(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}
