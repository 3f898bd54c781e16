import type { AlertmanagerApi, SilenceSpec, SilenceView } from './types.js';

/** An in-memory Alertmanager for unit tests: silences with their state as of `now()`; `down` refuses everything. */
export class MemoryAlertmanager implements AlertmanagerApi {
  readonly silences = new Map<string, SilenceSpec & { expiredAt?: number }>();
  down = false;
  posts = 0;
  private next = 1;

  constructor(private readonly now: () => number = Date.now) {}

  post(silence: SilenceSpec, id?: string): Promise<string> {
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED (memory alertmanager is down)'));
    this.posts += 1;
    if (id !== undefined && this.silences.has(id) && this.stateOf(id) !== 'expired') {
      this.silences.set(id, { ...silence });
      return Promise.resolve(id);
    }
    const created = `silence-${this.next++}`;
    this.silences.set(created, { ...silence });
    return Promise.resolve(created);
  }

  expire(id: string): Promise<void> {
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED (memory alertmanager is down)'));
    const s = this.silences.get(id);
    if (s) this.silences.set(id, { ...s, expiredAt: this.now() });
    return Promise.resolve();
  }

  list(): Promise<SilenceView[]> {
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED (memory alertmanager is down)'));
    return Promise.resolve([...this.silences].map(([id, s]) => ({ ...s, id, state: this.stateOf(id) })));
  }

  get(id: string): Promise<SilenceView | undefined> {
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED (memory alertmanager is down)'));
    const s = this.silences.get(id);
    return Promise.resolve(s && { ...s, id, state: this.stateOf(id) });
  }

  /** The silences active now. */
  active(): (SilenceSpec & { id: string })[] {
    return [...this.silences].filter(([id]) => this.stateOf(id) === 'active').map(([id, s]) => ({ ...s, id }));
  }

  stateOf(id: string): SilenceView['state'] {
    const s = this.silences.get(id);
    if (!s || s.expiredAt !== undefined || Date.parse(s.endsAt) <= this.now()) return 'expired';
    return Date.parse(s.startsAt) > this.now() ? 'pending' : 'active';
  }
}
