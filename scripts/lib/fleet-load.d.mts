import type { LoadResult } from './load.mjs';
import type { SandboxState } from './sandbox.mjs';

export function loadAllBackends(
  sandbox: SandboxState,
  options?: { concurrency?: number; maxSeconds?: number; sampleMs?: number },
): { stop(): Promise<LoadResult> };
export function hostReplies(
  sandbox: SandboxState,
): Promise<Record<string, { masterPid: number; release: string; [k: string]: unknown } | null>>;
export function masterPids(sandbox: SandboxState): Promise<Record<string, number | null>>;
