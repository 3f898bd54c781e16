export interface LoadResult {
  requests: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  seconds: number;
}
export interface LoadOptions {
  url: string;
  concurrency?: number;
  maxSeconds?: number;
  maxRequests?: number;
  headers?: Record<string, string>;
  expectStatus?: number;
}
export function startLoad(options: LoadOptions): { stop(): Promise<LoadResult>; snapshot(): LoadResult };
