/** Stops what an earlier sandbox left on `net` when its owner is gone; a sandbox with a live owner or none is left alone. */
export function reapOrphanOnNet(net: string, dir: string): Promise<{ dir: string; pids: number[] } | undefined>;
