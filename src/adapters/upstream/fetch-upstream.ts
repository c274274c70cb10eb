import { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from '../../ports/upstream.js';

export interface FetchUpstreamOptions {
  /** Whole-call deadline: connect, send, and read the response (default 2000 ms). */
  timeoutMs?: number;
  /** Responses larger than this are abandoned (default 256 KiB). */
  maxResponseBytes?: number;
}

/**
 * The upstream client on Node's built-in fetch (undici): keep-alive
 * connections by default, a hard deadline, no redirects, a size cap.
 */
export class FetchUpstream implements Upstream {
  readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(opts: FetchUpstreamOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxBytes = opts.maxResponseBytes ?? 256 * 1024;
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body as BodyInit | undefined, redirect: 'manual', signal });
    } catch (err) {
      throw failure(err, signal);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError('redirect', `upstream answered ${res.status} (redirects are not followed)`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > this.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError('too_large', `upstream response of ${declared} bytes is over the ${this.maxBytes}-byte cap`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body ?? []) {
        size += chunk.byteLength;
        if (size > this.maxBytes) {
          throw new UpstreamError('too_large', `upstream response is over the ${this.maxBytes}-byte cap`);
        }
        chunks.push(Buffer.from(chunk));
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw failure(err, signal);
    }
    return { status: res.status, headers: res.headers, body: Buffer.concat(chunks) };
  }
}

function failure(err: unknown, signal: AbortSignal): UpstreamError {
  if (signal.aborted) return new UpstreamError('timeout', 'upstream did not answer in time');
  const cause = (err as { cause?: { code?: string } })?.cause?.code;
  return new UpstreamError('network', `upstream unreachable${cause ? ` (${cause})` : ''}`);
}
