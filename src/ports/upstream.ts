/** One HTTP call to the upstream auth service. */
export interface UpstreamRequest {
  url: string;
  method: 'POST' | 'GET' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** Why a call produced no usable response. */
export type UpstreamFailure = 'timeout' | 'network' | 'too_large' | 'redirect';

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** The upstream port: short timeouts, no redirects, a response-size cap. */
export interface Upstream {
  send(req: UpstreamRequest): Promise<UpstreamResponse>;
}
