import { describeError, isRolloutError } from '../errors.js';
import type { HostRun } from './host-run.js';
import { retryState } from './host-state.js';
import type { StepContext } from './step-context.js';
import { confirmLb, confirmRepool } from './steps-lb.js';
import { checkHealth, drain, restart } from './steps-host.js';
import { repool } from './steps-pool.js';

/**
 * A failed host, on a run that asks: the operator's answer decides. Retry runs its steps again
 * from the one that failed, as often as asked; skip and abort leave it failed (abort also stops
 * the run, through the question's implementation).
 */
export async function askOnFailure(ctx: StepContext, run: HostRun): Promise<void> {
  const question = ctx.options.askOnFailure;
  if (question === undefined) return;
  while (run.state === 'failed' && !ctx.options.stop.aborted) {
    const from = retryState(run.step, ctx.options.emergency, run.depooledByRun);
    const answer = await question.ask({
      dc: run.planned.dc,
      cluster: run.planned.cluster,
      host: run.name,
      step: run.step,
      reason: run.failure?.reason ?? 'unknown',
      code: run.failure?.code ?? 'E_INTERNAL',
      canRetry: from !== undefined,
    });
    if (answer !== 'retry' || from === undefined || ctx.options.stop.aborted) return;
    ctx.emit({
      event: 'run.warning',
      message: `${run.name}: retrying from its ${run.step} step (answered at the terminal)`,
    });
    run.retry(from);
    await stepsFrom(ctx, run);
  }
}

/** The host's remaining steps, from the state a retry put it in (the same steps as a first try). */
async function stepsFrom(ctx: StepContext, run: HostRun): Promise<void> {
  const { stop, emergency } = ctx.options;
  try {
    if (run.state === 'depooled' && !(await confirmLb(ctx, run, stop))) return;
    if (run.state === 'lb-confirmed') {
      run.step = 'drain';
      await drain(ctx, run, stop);
      run.moveTo('drained', 'restart');
    }
    if (run.state === 'drained' || run.state === 'pending') {
      run.step = 'restart';
      if (!(await restart(ctx, run))) return;
    }
    if (run.state === 'restarted' && !(await checkHealth(ctx, run))) return;
    if (run.state !== 'healthy') return;
    if (!emergency && run.depooledByRun && (await repool(ctx, run)) === 'repooled') {
      await confirmRepool(ctx, run);
      run.moveTo('repooled', 'done');
    }
    run.moveTo('done', 'done');
  } catch (error) {
    if (run.state !== 'failed')
      run.fail(run.step, describeError(error), isRolloutError(error) ? error.code : 'E_INTERNAL');
  }
}
