import { inFlightSeries, type InFlightPoint } from './in-flight.js';
import type { RolloutEvent } from './events.js';
import { describeEvent } from './format.js';
import { stepOf, summarize } from './summary.js';
import type { HostOutcome, RunSummary } from './summary.js';

/** The steps a lane shows as spans, in a host's order (docs/events.md). */
export type SpanStep = 'depool' | 'lb-confirm' | 'drain' | 'restart' | 'health' | 'repool';
export const SPAN_STEPS: readonly SpanStep[] = ['depool', 'lb-confirm', 'drain', 'restart', 'health', 'repool'];

/** One step of a host, in milliseconds since the run started. */
export interface Span {
  readonly step: SpanStep;
  readonly startMs: number;
  readonly endMs: number;
  /** The step failed (host.failed, or health.failed). */
  readonly failed: boolean;
}

export interface Mark {
  readonly atMs: number;
  readonly kind: 'failed' | 'warning';
  readonly text: string;
}

/** One row of the picture: a host, or hosts whose rows are the same (same batch, outcome, steps, no marks). */
export interface Lane {
  readonly hosts: readonly string[];
  readonly batch: number;
  readonly outcome: HostOutcome;
  /** A lone host's spans; for a collapsed lane each step's median start and end. */
  readonly spans: readonly Span[];
  /** A collapsed lane: each step from its earliest start to its latest end. Empty for a lone host. */
  readonly envelope: readonly Span[];
  readonly marks: readonly Mark[];
  /** Why it failed, was skipped or interrupted. */
  readonly reason: string;
}

export interface BatchBand {
  readonly batch: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly hosts: number;
}

export interface ClusterTimeline {
  readonly dc: string;
  readonly cluster: string;
  /** Hosts the run reached or skipped in this cluster, plus those it never started. */
  readonly hosts: number;
  readonly batches: readonly BatchBand[];
  readonly lanes: readonly Lane[];
  /** True when lanes of more than one host were merged (clusters above COLLAPSE_ABOVE hosts). */
  readonly collapsed: boolean;
  readonly notStarted: number;
  readonly marks: readonly Mark[];
  /** A window run: its hosts in flight over time (empty for a barrier run, which has batch bands instead). */
  readonly inFlight: readonly InFlightPoint[];
}

export interface RunTimeline {
  readonly summary: RunSummary;
  /** Epoch milliseconds of the first event: every offset is relative to it. */
  readonly startEpochMs: number;
  readonly durationMs: number;
  readonly clusters: readonly ClusterTimeline[];
  /** run.warning events and the run's interrupt, at their time. */
  readonly marks: readonly Mark[];
}

/** Clusters up to this many hosts get a lane per host; bigger ones merge lanes that tell the same story. */
export const COLLAPSE_ABOVE = 24;

interface HostTrack {
  host: string;
  dc: string;
  cluster: string;
  batch: number;
  lastMs: number;
  spans: Span[];
  marks: Mark[];
}

/** The span an event ends; lb.repool-confirmed ends the repool that host.repooled began (one span, not two). */
function spanEnded(event: RolloutEvent['event']): SpanStep | undefined {
  const step = event === 'lb.repool-confirmed' ? 'repool' : stepOf[event];
  return SPAN_STEPS.find((s) => s === step);
}

const key = (dc: string, cluster: string): string => `${dc}\u0000${cluster}`;

/** Folds a run's events into lanes per cluster, batches and marks. Pure: the same events give the same picture. */
export function buildTimeline(events: readonly RolloutEvent[]): RunTimeline {
  const summary = summarize(events);
  const first = events[0];
  const startEpochMs = first ? Date.parse(first.time) : 0;
  const at = (e: RolloutEvent): number => Date.parse(e.time) - startEpochMs;
  const tracks = new Map<string, HostTrack>();
  const bands = new Map<string, BatchBand[]>();
  const clusterMarks = new Map<string, Mark[]>();
  const order: string[] = [];
  const runMarks: Mark[] = [];
  let endMs = 0;
  const cluster = (dc: string, name: string): string => {
    const k = key(dc, name);
    if (!bands.has(k)) {
      bands.set(k, []);
      clusterMarks.set(k, []);
      order.push(k);
    }
    return k;
  };
  const track = (e: { host: string; dc: string; cluster: string }, atMs: number): HostTrack => {
    let t = tracks.get(e.host);
    if (!t) {
      cluster(e.dc, e.cluster);
      t = { host: e.host, dc: e.dc, cluster: e.cluster, batch: 0, lastMs: atMs, spans: [], marks: [] };
      tracks.set(e.host, t);
    }
    return t;
  };

  for (const event of events) {
    const atMs = at(event);
    endMs = Math.max(endMs, atMs);
    switch (event.event) {
      case 'run.started':
        for (const c of event.clusters) cluster(c.dc, c.cluster);
        continue;
      case 'batch.started': {
        bands
          .get(cluster(event.dc, event.cluster))
          ?.push({ batch: event.batch, startMs: atMs, endMs: atMs, hosts: event.hosts.length });
        for (const host of event.hosts)
          Object.assign(track({ host, dc: event.dc, cluster: event.cluster }, atMs), {
            batch: event.batch,
            lastMs: atMs,
          });
        continue;
      }
      case 'batch.finished': {
        const band = bands.get(cluster(event.dc, event.cluster))?.find((b) => b.batch === event.batch);
        if (band) Object.assign(band, { endMs: atMs });
        continue;
      }
      case 'capacity.waiting':
        clusterMarks.get(cluster(event.dc, event.cluster))?.push({
          atMs,
          kind: 'warning',
          text: `waiting for capacity: ${event.pooled} pooled, ${event.required} must stay pooled, ${event.wanted} wanted`,
        });
        continue;
      case 'slot.waiting':
      case 'canary.skipped':
        clusterMarks.get(cluster(event.dc, event.cluster))?.push({ atMs, kind: 'warning', text: describeEvent(event) });
        continue;
      case 'canary.failed':
        clusterMarks.get(cluster(event.dc, event.cluster))?.push({ atMs, kind: 'failed', text: describeEvent(event) });
        continue;
      case 'host.dispatched':
        track(event, atMs).lastMs = atMs;
        continue;
      case 'slot.acquired':
      case 'canary.soaking':
      case 'canary.passed':
        continue;
      case 'run.warning':
        runMarks.push({ atMs, kind: 'warning', text: event.message });
        continue;
      case 'run.interrupted':
        runMarks.push({ atMs, kind: 'failed', text: `interrupted by ${event.signal}` });
        continue;
      case 'run.paused':
      case 'run.resumed':
        runMarks.push({ atMs, kind: 'warning', text: describeEvent(event) });
        continue;
      case 'run.aborted':
        runMarks.push({ atMs, kind: 'failed', text: describeEvent(event) });
        continue;
      case 'run.finished':
        continue;
      default:
        break;
    }
    const t = track(event, atMs);
    const step = spanEnded(event.event);
    if (step !== undefined) {
      const previous = t.spans[t.spans.length - 1];
      if (previous?.step === step)
        t.spans[t.spans.length - 1] = {
          ...previous,
          endMs: atMs,
          failed: previous.failed || event.event === 'health.failed',
        };
      else t.spans.push({ step, startMs: t.lastMs, endMs: atMs, failed: event.event === 'health.failed' });
      t.lastMs = atMs;
    }
    if (event.event === 'health.failed')
      t.marks.push({ atMs, kind: 'warning', text: `health failed after ${event.attempts} attempts: ${event.detail}` });
    if (event.event === 'host.repool-skipped')
      t.marks.push({ atMs, kind: 'warning', text: `repool skipped: ${event.reason}` });
    if (event.event === 'host.failed') {
      const failedStep = SPAN_STEPS.find((s) => s === event.step);
      if (failedStep !== undefined && t.spans[t.spans.length - 1]?.step !== failedStep)
        t.spans.push({ step: failedStep, startMs: t.lastMs, endMs: atMs, failed: true });
      else if (failedStep !== undefined)
        t.spans[t.spans.length - 1] = { ...t.spans[t.spans.length - 1]!, failed: true };
      t.marks.push({
        atMs,
        kind: 'failed',
        text: `FAILED at ${event.step} [${event.code}]: ${event.reason}${event.depooled ? ' (left depooled)' : ''}`,
      });
    }
  }

  const outcomes = new Map(summary.hosts.map((h) => [h.host, h]));
  const flying = inFlightSeries(events, startEpochMs);
  const clusters = order.map((k): ClusterTimeline => {
    const [dc = '', name = ''] = k.split('\u0000');
    const members = [...tracks.values()].filter((t) => t.dc === dc && t.cluster === name);
    const notStarted = summary.notStarted.find((r) => r.dc === dc && r.cluster === name)?.notStarted ?? 0;
    const collapsed = members.length > COLLAPSE_ABOVE;
    const lanes = collapsed ? collapse(members, outcomes) : members.map((t) => lone(t, outcomes));
    return {
      dc,
      cluster: name,
      hosts: members.length + notStarted,
      batches: bands.get(k) ?? [],
      lanes,
      collapsed,
      notStarted,
      marks: clusterMarks.get(k) ?? [],
      inFlight: flying.get(k) ?? [],
    };
  });
  return { summary, startEpochMs, durationMs: Math.max(endMs, summary.durationMs), clusters, marks: runMarks };
}

type Outcomes = ReadonlyMap<string, RunSummary['hosts'][number]>;

function lone(t: HostTrack, outcomes: Outcomes): Lane {
  const o = outcomes.get(t.host);
  return {
    hosts: [t.host],
    batch: t.batch,
    outcome: o?.outcome ?? 'not-started',
    spans: t.spans,
    envelope: [],
    marks: t.marks,
    reason: o?.reason ?? '',
  };
}

/** Hosts with a mark or an outcome other than done keep their own lane; the rest merge per batch and step sequence. */
function collapse(members: readonly HostTrack[], outcomes: Outcomes): Lane[] {
  const lanes: Lane[] = [];
  const groups = new Map<string, HostTrack[]>();
  for (const t of members) {
    const outcome = outcomes.get(t.host)?.outcome;
    if (t.marks.length > 0 || (outcome !== 'done' && outcome !== 'skipped')) {
      lanes.push(lone(t, outcomes));
      continue;
    }
    const story = `${t.batch}|${outcome}|${t.spans.map((s) => s.step).join(',')}`;
    const group = groups.get(story);
    if (group) group.push(t);
    else groups.set(story, [t]);
  }
  for (const group of groups.values()) {
    const head = group[0]!;
    if (group.length === 1) {
      lanes.push(lone(head, outcomes));
      continue;
    }
    const column = (i: number, f: (s: Span) => number): number[] =>
      group.map((t) => f(t.spans[i]!)).sort((a, b) => a - b);
    const spans = head.spans.map((s, i): Span => ({
      step: s.step,
      startMs: median(column(i, (x) => x.startMs)),
      endMs: median(column(i, (x) => x.endMs)),
      failed: false,
    }));
    const envelope = head.spans.map((s, i): Span => ({
      step: s.step,
      startMs: column(i, (x) => x.startMs)[0]!,
      endMs: column(i, (x) => x.endMs).at(-1)!,
      failed: false,
    }));
    const o = outcomes.get(head.host);
    lanes.push({
      hosts: group.map((t) => t.host),
      batch: head.batch,
      outcome: o?.outcome ?? 'done',
      spans,
      envelope,
      marks: [],
      reason: o?.reason ?? '',
    });
  }
  // Batch order, failures first within a batch, so a failed host sits next to its batch's lane.
  const rank = (l: Lane): number => (l.outcome === 'done' ? 1 : 0);
  return lanes.sort((a, b) => a.batch - b.batch || rank(a) - rank(b));
}

function median(sorted: readonly number[]): number {
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}
