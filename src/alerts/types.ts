/** One matcher of an Alertmanager silence (API v2). */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  /** False for `!=` and `!~`. */
  readonly isEqual: boolean;
}

/** What rollout posts: a silence bounded in time, never open-ended. */
export interface SilenceSpec {
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

/** A silence as Alertmanager lists it. */
export interface SilenceView extends SilenceSpec {
  readonly id: string;
  readonly state: 'active' | 'pending' | 'expired';
}

/** The part of Alertmanager's API v2 rollout uses; adapters: src/alerts/client.ts (HTTP), src/alerts/memory.ts. */
export interface AlertmanagerApi {
  /** Creates a silence, or updates `id`; resolves the id Alertmanager gives it (a new one if it could not update in place). */
  post(silence: SilenceSpec, id?: string): Promise<string>;
  /** Expires a silence now; an already expired or unknown one is not an error. */
  expire(id: string): Promise<void>;
  list(): Promise<SilenceView[]>;
  /** One silence as Alertmanager holds it (its start is Alertmanager's, not the poster's); undefined when unknown. */
  get(id: string): Promise<SilenceView | undefined>;
}

/** The host a silence is for, with the values its matcher templates may name. */
export interface SilenceTarget {
  readonly host: string;
  readonly vars: Readonly<Record<string, string | number | undefined>>;
}

/**
 * The alert silences of one run's hosts in flight (Deps.silences): created before a host is
 * touched, kept alive while it is in flight, expired when it is done, left to lapse when it failed.
 */
export interface HostSilences {
  /** Creates the host's silence, ending now + ttl; a second call for a held host does nothing. Throws E_ALERTS. */
  hold(target: SilenceTarget): Promise<void>;
  /** The host is done (or skipped, or put back): its silence is expired now. Best effort: resolves a warning or undefined. */
  release(host: string): Promise<string | undefined>;
  /** The host failed: its silence is no longer extended, and lapses at the time resolved (ISO), so its alerts page. */
  abandon(host: string): string | undefined;
  /** True when a silence is held for the host. */
  holds(host: string): boolean;
  /** Whether a refused silence fails the host (alerts.required) or is only a warning. */
  readonly required: boolean;
  /** The run is over: stops extending, and expires the silences still held (hosts never touched). */
  close(): Promise<void>;
}
