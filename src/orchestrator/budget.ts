import type { InventoryCluster } from '../inventory/types.js';
import { resolveAmount } from '../planner/amount.js';
import type { HostRun } from './host-run.js';
import type { RunInput } from './types.js';

const clusterKey = (cluster: InventoryCluster): string => `${cluster.name}@${cluster.dc}`;
const failedHealth = (run: HostRun): boolean => run.state === 'failed' && run.step === 'health';

/** Counts failures per cluster and overall; trips once a budget is passed, and stays tripped. */
export class FailureBudget {
  private total = 0;
  private readonly perCluster = new Map<string, number>();
  /** Per cluster, the hosts tried (not skipped) in the order they completed: the window's brake looks at the last W. */
  private readonly completed = new Map<string, HostRun[]>();
  tripped: string | undefined;

  constructor(private readonly input: RunInput) {}

  /** Without --failure-budget an emergency has no budget, only the brake. */
  private get braking(): boolean {
    return this.input.options.emergency && this.input.options.failureBudget === undefined;
  }

  record(cluster: InventoryCluster, plannedHosts: number): void {
    const key = clusterKey(cluster);
    const failures = (this.perCluster.get(key) ?? 0) + 1;
    this.perCluster.set(key, failures);
    this.total += 1;
    const { failureBudget } = this.input.options;
    // Why: an emergency rollback must not stop half-way unless the operator asked for a budget.
    if (this.braking) return;
    const clusterBudget = resolveAmount(failureBudget ?? cluster.settings.failureBudget, plannedHosts);
    const globalBudget =
      failureBudget === undefined ? this.input.inventory.run.failureBudget : Number.POSITIVE_INFINITY;
    if (failures > clusterBudget) this.tripped ??= `${key}: ${failures} failed host(s), budget ${clusterBudget}`;
    else if (this.total > globalBudget)
      this.tripped ??= `${this.total} failed host(s) in the run, budget ${globalBudget}`;
  }

  /**
   * The emergency brake: without --failure-budget, an emergency run stops once a whole batch fails
   * its health check: the "fix" it rolls out is broken too, and going on would take down the fleet.
   */
  afterBatch(cluster: InventoryCluster, batch: number, runs: readonly HostRun[]): void {
    if (!this.braking) return;
    const tried = runs.filter((r) => r.state !== 'skipped');
    if (tried.length > 0 && tried.every(failedHealth)) {
      this.tripped ??= `emergency brake: every host of batch ${batch} of ${clusterKey(cluster)} failed its health check (give --failure-budget to go on regardless)`;
    }
  }

  /**
   * One host of a window completed: counts a failure against the budget and, in an emergency
   * without --failure-budget, brakes once the last `width` hosts completed all failed their health check.
   */
  afterHost(cluster: InventoryCluster, plannedHosts: number, run: HostRun, width: number): void {
    if (run.state === 'failed') this.record(cluster, plannedHosts);
    if (!this.braking || run.state === 'skipped') return;
    const key = clusterKey(cluster);
    const done = this.completed.get(key) ?? [];
    done.push(run);
    // Why: only the last `width` matter; keeping the list short keeps the check O(width).
    if (done.length > 2 * width) done.splice(0, done.length - width);
    this.completed.set(key, done);
    const last = done.slice(-width);
    if (last.length === width && last.every(failedHealth))
      this.tripped ??= `emergency brake: the last ${width} host(s) of ${key} to complete all failed their health check (give --failure-budget to go on regardless)`;
  }
}
