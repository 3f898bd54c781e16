export interface LoadResult {
  requests: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  seconds: number;
  /** The width of each sample. */
  sampleMs: number;
  /** Requests that ended in each sampleMs (t: epoch ms of its start), in time order. */
  samples: { t: number; ok: number; failed: number }[];
}
export interface LoadOptions {
  url: string;
  concurrency?: number;
  maxSeconds?: number;
  maxRequests?: number;
  headers?: Record<string, string>;
  expectStatus?: number;
  /** Width of the samples of `samples` (default 1000 ms). */
  sampleMs?: number;
}
export function startLoad(options: LoadOptions): { stop(): Promise<LoadResult>; snapshot(): LoadResult };
