import type { Deps } from '../deps.js';
import type { Emit } from './emit.js';
import type { Steering } from './types.js';

/** Who steered, as the events, the summary and `rollout status` name them. */
export interface SteeringBy {
  /** `user@machine`, or what paused the run itself (a question on failure). */
  readonly by: string;
  readonly reason: string;
}

export interface SteeringOptions {
  readonly clock: Deps['clock'];
  readonly sleep: Deps['sleep'];
  readonly emit: Emit;
  /** --pace: the least time between two dispatches in one cluster. */
  readonly paceMs?: number | undefined;
  /** --deadline / run.deadline, as a time (ms since the epoch) and as the operator gave it. */
  readonly deadline?: { readonly atMs: number; readonly text: string } | undefined;
  /** The run's soft stop: a paused or pacing run that is stopped (Ctrl-C, a lost lock) stops waiting. */
  readonly stop: AbortSignal;
  /** Called once when the run must stop (abort, deadline): the caller aborts the soft stop with it. */
  onStop(reason: string): void;
}

export type SteeringState = 'running' | 'paused' | 'stopped';

/**
 * The operator's hand on a running run, behind the sequencer's `Steering` seam: pause holds every
 * dispatch until resume; abort and the deadline refuse every dispatch and soft-stop the run; the pace
 * spaces dispatches in a cluster. Nothing here interrupts what already runs.
 */
export class RunSteering implements Steering {
  private current: SteeringState = 'running';
  private pausedAt = 0;
  private wake: (() => void) | undefined;
  private held: Promise<void> | undefined;
  private readonly holds = new Set<string>();
  /** Set while an operator's pause stands (a question's hold is apart from it: either keeps the run paused). */
  private operatorPause: SteeringBy | undefined;
  private readonly lastDispatch = new Map<string, number>();
  private readonly listeners = new Set<(state: SteeringState) => void>();

  constructor(private readonly options: SteeringOptions) {
    options.stop.addEventListener('abort', () => this.release(), { once: true });
  }

  get paced(): boolean {
    return (this.options.paceMs ?? 0) > 0;
  }

  get state(): SteeringState {
    return this.current;
  }

  /** Called on every change of state (a live view follows it). */
  onChange(listener: (state: SteeringState) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  pause(who: SteeringBy): void {
    if (this.current === 'stopped' || this.operatorPause !== undefined) return;
    this.operatorPause = who;
    if (this.current === 'running') this.enterPause();
    this.options.emit({ event: 'run.paused', by: who.by, reason: who.reason });
  }

  resume(who: Pick<SteeringBy, 'by'>): void {
    if (this.operatorPause === undefined) return;
    this.operatorPause = undefined;
    // Why: a question still waiting keeps the run paused; its answer resumes it.
    if (this.current === 'paused' && this.holds.size === 0) this.leavePause(who.by);
  }

  abort(who: SteeringBy): void {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    this.options.emit({ event: 'run.aborted', by: who.by, reason: who.reason });
    this.options.onStop(`aborted by ${who.by}: ${who.reason}`);
    this.release();
    this.changed();
  }

  /** Past the deadline: as an abort, by the deadline. Idempotent. */
  expire(): void {
    const deadline = this.options.deadline;
    if (deadline === undefined || this.current === 'stopped') return;
    this.abort({
      by: 'deadline',
      reason: `the deadline (${deadline.text}, ${new Date(deadline.atMs).toISOString()}) has passed: nothing new starts`,
    });
  }

  /**
   * Holds the run as paused for the run's own reason (a question waiting for its answer) until the
   * returned function is called; an operator's resume does not end it, an abort does.
   */
  hold(why: SteeringBy): () => void {
    const token = `${why.by}\n${why.reason}\n${this.holds.size}`;
    this.holds.add(token);
    if (this.current === 'running') {
      this.enterPause();
      this.options.emit({ event: 'run.paused', by: why.by, reason: why.reason });
    }
    return () => {
      if (!this.holds.delete(token) || this.holds.size > 0 || this.current !== 'paused') return;
      if (this.operatorPause === undefined) this.leavePause(why.by);
    };
  }

  async beforeDispatch(cluster: { readonly dc: string; readonly cluster: string }): Promise<'go' | 'stop'> {
    const key = `${cluster.dc}/${cluster.cluster}`;
    for (;;) {
      if (this.pastDeadline()) this.expire();
      if (this.current === 'stopped' || this.options.stop.aborted) return 'stop';
      if (this.current === 'paused') {
        await this.held;
        continue;
      }
      const wait = this.paceWait(key);
      if (wait > 0) {
        const until = this.deadlineIn();
        try {
          await this.options.sleep(until === undefined ? wait : Math.min(wait, Math.max(0, until)), this.options.stop);
        } catch {
          return 'stop';
        }
        continue;
      }
      this.lastDispatch.set(key, this.options.clock.now());
      return 'go';
    }
  }

  private paceWait(key: string): number {
    const last = this.lastDispatch.get(key);
    const pace = this.options.paceMs ?? 0;
    return last === undefined || pace <= 0 ? 0 : last + pace - this.options.clock.now();
  }

  private deadlineIn(): number | undefined {
    const deadline = this.options.deadline;
    return deadline === undefined ? undefined : deadline.atMs - this.options.clock.now();
  }

  private pastDeadline(): boolean {
    const left = this.deadlineIn();
    return left !== undefined && left <= 0;
  }

  private enterPause(): void {
    this.current = 'paused';
    this.pausedAt = this.options.clock.now();
    this.held = new Promise((resolve) => (this.wake = resolve));
    this.changed();
  }

  private leavePause(by: string): void {
    this.current = 'running';
    this.options.emit({ event: 'run.resumed', by, pausedMs: this.options.clock.now() - this.pausedAt });
    this.release();
    this.changed();
  }

  private release(): void {
    this.wake?.();
    this.wake = undefined;
  }

  private changed(): void {
    for (const listener of this.listeners) listener(this.current);
  }
}
