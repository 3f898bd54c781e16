import { describeError, isRolloutError } from '../errors.js';
import { probeVars } from '../health/vars.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';

/**
 * Before a host is touched (its depool; in an emergency, its restart): its alert silence. When
 * Alertmanager does not take it, the host fails untouched (alerts.required), or goes on with a
 * warning. Resolves false when the host failed. Idempotent: a host already silenced passes.
 */
export async function silenceHost(ctx: StepContext, run: HostRun): Promise<boolean> {
  const silences = ctx.deps.silences;
  if (silences === undefined || silences.holds(run.name)) return true;
  try {
    await silences.hold({
      host: run.name,
      vars: { ...probeVars(run.host, ctx.options.release), port: run.host.settings.ssh.port },
    });
    return true;
  } catch (error) {
    if (!silences.required) {
      ctx.emit({
        event: 'run.warning',
        message: `${describeError(error)}; going on without it (alerts.required: false), so its alerts may page`,
      });
      return true;
    }
    run.fail(
      run.step === 'pending' ? 'depool' : run.step,
      `${describeError(error)} (left ${run.depooledByRun ? 'depooled' : 'pooled'}, not restarted; set alerts.required: false to go on without silences)`,
      isRolloutError(error) ? error.code : 'E_ALERTS',
    );
    return false;
  }
}

/**
 * When the host is finished: a host that is back in service (or never left it) has its silence
 * expired; a failed host, or one left depooled, keeps it only until its ttl passes, so it pages.
 */
export async function endSilence(ctx: StepContext, run: HostRun): Promise<void> {
  const silences = ctx.deps.silences;
  if (silences === undefined || !silences.holds(run.name)) return;
  if (run.state === 'failed' || run.depooledByRun) {
    const until = silences.abandon(run.name);
    ctx.emit({
      event: 'run.warning',
      message: `${run.name}: its alert silence is no longer extended and lapses at ${until ?? 'its ttl'}; after that its alerts page`,
    });
    return;
  }
  const warning = await silences.release(run.name);
  if (warning !== undefined) ctx.emit({ event: 'run.warning', message: warning });
}
