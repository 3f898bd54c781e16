// Opcache-threshold restarts (scap's check-and-restart-php): before a batch depools anything, a host
// whose opcache is under the threshold is left alone, neither depooled nor restarted.
import { describeError } from '../../errors.js';
import type { HostRun } from '../host-run.js';
import type { StepContext } from '../step-context.js';

/** The threshold that applies to a host: --if-opcache-above, else restart.opcache.threshold; none with --release. */
export function opcacheThreshold(ctx: StepContext, run: HostRun): number | undefined {
  // Why: with a new release the code changed, so every host restarts whatever its opcache holds.
  if (ctx.options.release !== undefined) return undefined;
  return ctx.options.opcacheAbove ?? run.host.settings.restart.opcache?.thresholdPercent;
}

const figure = (percent: number): string => `${percent.toFixed(1)}%`;

/**
 * Skips, with the figure, every pending host whose opcache use is at or under its threshold. A host
 * whose figures cannot be read is restarted, with a warning: a full opcache serves corrupt code.
 */
export async function skipBelowOpcacheThreshold(ctx: StepContext, runs: readonly HostRun[]): Promise<void> {
  await Promise.all(
    runs.map(async (run) => {
      const threshold = opcacheThreshold(ctx, run);
      if (run.state !== 'pending' || threshold === undefined) return;
      let used: number;
      try {
        if (ctx.deps.opcache === undefined) throw new Error('no opcache probe in this run');
        used = await ctx.deps.opcache.usedPercent(run.host, { signal: ctx.options.stop });
      } catch (error) {
        if (ctx.options.stop.aborted) return;
        ctx.emit({
          event: 'run.warning',
          message: `${run.name}: opcache use unreadable (${describeError(error)}): restarting it as if above the ${figure(threshold)} threshold`,
        });
        return;
      }
      if (used <= threshold)
        run.skip(
          `opcache ${figure(used)} used, not above the ${figure(threshold)} threshold: not depooled, not restarted`,
          'E_OPCACHE_BELOW',
        );
    }),
  );
}
