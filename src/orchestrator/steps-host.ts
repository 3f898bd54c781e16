import { describeError, isRolloutError } from '../errors.js';
import { sshTargetFor } from '../health/ssh-target.js';
import { probeVars } from '../health/vars.js';
import { renderCommand, type TemplateVars } from '../transport/template.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';

/** The probes' placeholders, plus the SSH port that restart commands may name. */
function templateVars(ctx: StepContext, run: HostRun): TemplateVars {
  return { ...probeVars(run.host, ctx.options.release), port: run.host.settings.ssh.port };
}

/**
 * Before a depool: a host we cannot reach over SSH is failed untouched, never left depooled for
 * nothing. An authenticated connection proves reachability and auth; the restart then reuses it.
 */
export async function preflight(ctx: StepContext, run: HostRun): Promise<boolean> {
  const ssh = run.host.settings.ssh;
  try {
    await ctx.deps.transport.reach(sshTargetFor(run.host), { timeoutMs: (ssh.connectTimeoutSeconds + 10) * 1000 });
    return true;
  } catch (error) {
    run.fail(
      'depool',
      `${describeError(error)} (checked before the depool: left pooled, not restarted)`,
      isRolloutError(error) ? error.code : 'E_SSH_CONNECT',
    );
    return false;
  }
}

/** Polls PHP-FPM until no request is active but the probe's, or a fixed wait; bounded by drain.timeout. */
export async function drain(ctx: StepContext, run: HostRun, signal: AbortSignal): Promise<void> {
  const settings = run.host.settings.drain;
  const started = ctx.deps.clock.now();
  const where = { dc: run.planned.dc, cluster: run.planned.cluster, host: run.name };
  if (settings.mode === 'fixed') {
    await ctx.deps.sleep(settings.seconds * 1000, signal);
    ctx.emit({ event: 'host.drained', ...where, active: 0, waitedMs: ctx.deps.clock.now() - started });
    return;
  }
  const deadline = started + settings.timeoutSeconds * 1000;
  let active = -1;
  let lastError = '';
  for (;;) {
    try {
      active = await ctx.deps.drain.activeRequests(run.host, { signal });
      if (active <= 0) break;
    } catch (error) {
      if (signal.aborted) throw error;
      lastError = describeError(error);
    }
    if (ctx.deps.clock.now() >= deadline) {
      // Why: the restart is graceful (PHP-FPM finishes requests within process_control_timeout), so go on, but say so.
      const seen = active >= 0 ? `${active} request(s) still active` : `status unreadable (${lastError})`;
      ctx.emit({
        event: 'run.warning',
        message: `${run.name}: not drained after ${settings.timeoutSeconds}s (${seen}); restarting gracefully anyway`,
      });
      break;
    }
    await ctx.deps.sleep(settings.intervalSeconds * 1000, signal);
  }
  ctx.emit({ event: 'host.drained', ...where, active: Math.max(active, 0), waitedMs: ctx.deps.clock.now() - started });
}

/** Runs the cluster's restart command over SSH; a non-zero exit fails the host with the command's last words. */
export async function restart(ctx: StepContext, run: HostRun): Promise<boolean> {
  const settings = run.host.settings.restart;
  const template = ctx.options.emergency ? settings.emergencyCommand : settings.command;
  const command = renderCommand(template, templateVars(ctx, run));
  try {
    const result = await ctx.deps.transport.exec(sshTargetFor(run.host), command, {
      timeoutMs: settings.timeoutSeconds * 1000,
    });
    if (result.exitCode !== 0) {
      const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
      const how = result.exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exit ${result.exitCode}`;
      run.fail('restart', `restart command \`${command}\` failed (${how})${said ? `: ${said}` : ''}`, 'E_RESTART');
      return false;
    }
    ctx.emit({
      event: 'host.restarted',
      dc: run.planned.dc,
      cluster: run.planned.cluster,
      host: run.name,
      exitCode: 0,
      durationMs: result.durationMs,
    });
    run.moveTo('restarted', 'health');
    return true;
  } catch (error) {
    run.fail('restart', describeError(error), isRolloutError(error) ? error.code : 'E_RESTART');
    return false;
  }
}

/** Retries the health probe until it passes (and stays up minHealthySeconds) or attempts/deadline run out. */
export async function checkHealth(ctx: StepContext, run: HostRun, host = run.host): Promise<boolean> {
  const settings = host.settings.health;
  const where = { dc: run.planned.dc, cluster: run.planned.cluster, host: run.name };
  const started = ctx.deps.clock.now();
  const deadline = started + settings.timeoutSeconds * 1000;
  let attempts = 0;
  let healthySince: number | undefined;
  let detail: string;
  for (;;) {
    attempts += 1;
    const result = await ctx.deps.probe.check(host, { release: ctx.options.release });
    detail = result.detail;
    const now = ctx.deps.clock.now();
    if (result.ok) {
      healthySince ??= now;
      if (now - healthySince >= settings.minHealthySeconds * 1000) {
        ctx.emit({ event: 'health.passed', ...where, attempts, detail });
        run.moveTo('healthy', 'repool');
        return true;
      }
    } else if (healthySince !== undefined) {
      detail = `unstable: healthy, then ${detail}`;
      break;
    }
    const outOfAttempts = healthySince === undefined && attempts >= settings.attempts;
    if (outOfAttempts || now >= deadline) break;
    await ctx.deps.sleep(settings.intervalSeconds * 1000);
  }
  const span = Math.round((ctx.deps.clock.now() - started) / 1000);
  ctx.emit({ event: 'health.failed', ...where, attempts, detail });
  run.fail('health', `health check failed after ${attempts} attempt(s) over ${span}s (last: ${detail})`, 'E_HEALTH');
  return false;
}
