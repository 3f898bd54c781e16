// The dual-master swap (docs/design-notes.md): restart the dormant PHP-FPM master, check it, point
// the web server at it with a graceful reload, confirm through the public URL. No pool write at all.
import { describeError, isRolloutError } from '../../errors.js';
import { sshTargetFor } from '../../health/ssh-target.js';
import { probeVars } from '../../health/vars.js';
import type { DualMasterSettings, InventoryHost, Slot } from '../../inventory/types.js';
import type { HostStep } from '../../report/events.js';
import { renderCommand } from '../../transport/template.js';
import type { HostRun } from '../host-run.js';
import type { StepContext } from '../step-context.js';
import { checkHealth } from '../steps-host.js';

/** True for a host restarted by the swap: the batch neither depools nor guards it. */
export function usesDualMaster(run: HostRun): boolean {
  return run.host.settings.restart.strategy === 'dual-master' && run.host.settings.restart.dualMaster !== undefined;
}

/** The host as seen through one master's own URLs: the probes then check that master directly. */
export function slotHost(host: InventoryHost, slot: Slot, dm: DualMasterSettings): InventoryHost {
  const s = host.settings;
  return {
    ...host,
    settings: {
      ...s,
      health: { ...s.health, type: 'http', url: dm.healthUrl[slot] },
      drain: { ...s.drain, statusUrl: dm.statusUrl[slot], statusCommand: undefined },
    },
  };
}

const other = (slot: Slot): Slot => (slot === 'A' ? 'B' : 'A');
/** The web server's reload is asynchronous: its old workers answer for a moment, so the confirmation polls quickly... */
const CONFIRM_POLL_MS = 200;
/** ...and wants the new master this many times in a row, so one answer from a new worker is not taken for all. */
const CONFIRM_IN_A_ROW = 3;

/** Runs one of the swap's commands over SSH; a non-zero exit fails the host with the command's last words. */
async function runStep(
  ctx: StepContext,
  run: HostRun,
  step: HostStep,
  template: string,
  slot: Slot | undefined,
): Promise<string | undefined> {
  const vars = { ...probeVars(run.host, ctx.options.release), port: run.host.settings.ssh.port, slot };
  const command = renderCommand(template, vars);
  try {
    const result = await ctx.deps.transport.exec(sshTargetFor(run.host), command, {
      timeoutMs: run.host.settings.restart.timeoutSeconds * 1000,
    });
    if (result.exitCode === 0) return result.stdout;
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
    const how = result.exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exit ${result.exitCode}`;
    run.fail(
      step,
      `\`${command}\` failed (${how})${said ? `: ${said}` : ''}; the host keeps serving from its active master`,
      'E_DUAL_MASTER',
    );
  } catch (error) {
    run.fail(step, describeError(error), isRolloutError(error) ? error.code : 'E_DUAL_MASTER');
  }
  return undefined;
}

/**
 * Step 1: the dormant master must have finished its previous term's requests (the article's known
 * failure: two swaps close together restarted it while it still served). Waits up to idleTimeout.
 */
async function waitDormantIdle(
  ctx: StepContext,
  run: HostRun,
  dormant: Slot,
  dm: DualMasterSettings,
): Promise<boolean> {
  const started = ctx.deps.clock.now();
  const deadline = started + dm.idleTimeoutSeconds * 1000;
  const target = slotHost(run.host, dormant, dm);
  const where = { dc: run.planned.dc, cluster: run.planned.cluster, host: run.name };
  for (;;) {
    let active: number;
    try {
      active = await ctx.deps.drain.activeRequests(target, { signal: ctx.options.stop });
    } catch (error) {
      if (ctx.options.stop.aborted) throw error;
      // Why: a master whose own status page does not answer cannot be serving the web server either.
      ctx.emit({
        event: 'run.warning',
        message: `${run.name}: dormant master ${dormant}: ${describeError(error)}; taken as serving nothing`,
      });
      active = 0;
    }
    if (active === 0) {
      ctx.emit({ event: 'host.drained', ...where, active: 0, waitedMs: ctx.deps.clock.now() - started });
      return true;
    }
    if (ctx.deps.clock.now() >= deadline) {
      run.fail(
        'drain',
        `dormant master ${dormant} still serves ${active} request(s) of its previous term after ${dm.idleTimeoutSeconds}s: not restarted (that would cut them); the host keeps serving from master ${other(dormant)}. Run again once they finish, or raise restart.dualMaster.idleTimeout`,
        'E_DORMANT_BUSY',
      );
      return false;
    }
    await ctx.deps.sleep(run.host.settings.drain.intervalSeconds * 1000, ctx.options.stop);
  }
}

/** The master a health response names, from the JSON field `masterField`. */
function masterIn(body: string | undefined, field: string): string | undefined {
  try {
    const value = (JSON.parse(body ?? '') as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  } catch {
    return undefined;
  }
}

/** Step 5: the public URL answers from the new master (and the release, with --release), within health.timeout. */
async function confirmSwitch(
  ctx: StepContext,
  run: HostRun,
  slot: Slot,
  master: string | undefined,
  dm: DualMasterSettings,
): Promise<boolean> {
  const health = run.host.settings.health;
  const started = ctx.deps.clock.now();
  const deadline = started + health.timeoutSeconds * 1000;
  let last: string;
  let inARow = 0;
  for (;;) {
    // Why: once switched, a soft stop lets the confirmation finish (running steps always finish).
    const result = await ctx.deps.probe.check(run.host, { release: ctx.options.release, withBody: true });
    const seen = masterIn(result.body, dm.masterField);
    const matched = result.ok && (master === undefined || seen === master);
    inARow = matched ? inARow + 1 : 0;
    if (inARow >= CONFIRM_IN_A_ROW) {
      ctx.emit({
        event: 'host.switched',
        dc: run.planned.dc,
        cluster: run.planned.cluster,
        host: run.name,
        slot,
        master: master ?? null,
        waitedMs: ctx.deps.clock.now() - started,
      });
      return true;
    }
    if (!matched) {
      last = result.ok
        ? `answered by master ${seen ?? `(no ${dm.masterField} field)`}, expected ${master ?? '?'} (${slot})`
        : result.detail;
      if (ctx.deps.clock.now() >= deadline) break;
    }
    await ctx.deps.sleep(Math.min(health.intervalSeconds * 1000, CONFIRM_POLL_MS));
  }
  run.fail(
    'switch',
    `switched to master ${slot}, but the public URL did not confirm it within ${health.timeoutSeconds}s (last: ${last})`,
    'E_SWITCH',
  );
  return false;
}

/**
 * One dual-master host: which master is dormant, wait until it is idle (not in an emergency),
 * restart it, health-check it directly, switch the web server to it, confirm through the public
 * URL. The old master stays up and drains by itself; the next run restarts it.
 */
export async function swapMasters(ctx: StepContext, run: HostRun): Promise<void> {
  const dm = run.host.settings.restart.dualMaster;
  if (dm === undefined) return;
  const { emergency } = ctx.options;
  run.step = 'restart';
  const printed = await runStep(ctx, run, 'restart', dm.dormantCommand, undefined);
  if (printed === undefined) return;
  const dormant = printed.trim().split('\n').pop()?.trim().toUpperCase();
  if (dormant !== 'A' && dormant !== 'B')
    return run.fail(
      'restart',
      `dormantCommand printed ${JSON.stringify(printed.trim().slice(0, 80))}, expected A or B: nothing restarted`,
      'E_DUAL_MASTER',
    );
  if (!emergency) {
    run.step = 'drain';
    if (!(await waitDormantIdle(ctx, run, dormant, dm))) return;
    run.step = 'restart';
  }
  const began = ctx.deps.clock.now();
  if (
    (await runStep(ctx, run, 'restart', emergency ? dm.emergencyRestartCommand : dm.restartCommand, dormant)) ===
    undefined
  )
    return;
  ctx.emit({
    event: 'host.restarted',
    dc: run.planned.dc,
    cluster: run.planned.cluster,
    host: run.name,
    exitCode: 0,
    durationMs: ctx.deps.clock.now() - began,
  });
  run.moveTo('restarted', 'health');
  const direct = slotHost(run.host, dormant, dm);
  if (!(await checkHealth(ctx, run, direct))) return;
  const seen = await ctx.deps.probe.check(direct, { release: ctx.options.release, withBody: true });
  const master = masterIn(seen.body, dm.masterField);
  if (master === undefined && ctx.options.release === undefined) {
    return run.fail(
      'switch',
      `master ${dormant}'s health response has no "${dm.masterField}" field, so the switch could not be confirmed: not switched. Set restart.dualMaster.masterField or give --release`,
      'E_SWITCH',
    );
  }
  run.step = 'switch';
  if ((await runStep(ctx, run, 'switch', dm.switchCommand, dormant)) === undefined) return;
  if (!(await confirmSwitch(ctx, run, dormant, master, dm))) return;
  run.moveTo('done', 'done');
}
