import { formatElapsed } from './format.js';
import type { LoadFigures } from './load-figures.js';
import type { ClusterTimeline, Lane, Mark, Span } from './timeline.js';

/** The picture's geometry: one time scale for every cluster, so parallel clusters line up. */
export interface Scale {
  readonly durationMs: number;
  /** Where the time axis starts (the label column is to its left). */
  readonly left: number;
  readonly width: number;
}

export const LANE_HEIGHT = 16;
const AXIS_HEIGHT = 18;

/** Any value as inert text for an element or a quoted attribute: a crafted log's numbers may be strings. */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A class-name fragment: letters, digits and dashes only, whatever the log said. */
export function cls(value: unknown): string {
  return String(value).replace(/[^A-Za-z0-9-]/g, '_');
}

const x = (scale: Scale, ms: number): number =>
  scale.left + (Math.max(0, ms) / Math.max(1, scale.durationMs)) * scale.width;
const px = (n: number): string => n.toFixed(1);

/** A tick every 1/2/5 × 10^k seconds, about eight across. */
function tickMs(durationMs: number): number {
  const raw = Math.max(1000, durationMs / 8);
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((t) => t >= raw) ?? raw;
}

function axis(scale: Scale, height: number): string {
  const step = tickMs(scale.durationMs);
  const parts: string[] = [];
  for (let ms = 0; ms <= scale.durationMs; ms += step) {
    const at = px(x(scale, ms));
    parts.push(
      `<line class="tick" x1="${at}" x2="${at}" y1="${AXIS_HEIGHT - 4}" y2="${height}"/><text class="tick" x="${at}" y="${AXIS_HEIGHT - 6}">${formatElapsed(ms)}</text>`,
    );
  }
  return parts.join('');
}

function spanRect(scale: Scale, s: Span, y: number, kind: string, detail: string): string {
  const x1 = x(scale, s.startMs);
  const w = Math.max(1.5, x(scale, s.endMs) - x1);
  return `<rect class="${cls(kind)} s-${cls(s.step)}${s.failed ? ' failed' : ''}" x="${px(x1)}" y="${y}" width="${px(w)}" height="${LANE_HEIGHT - 4}"><title>${esc(`${s.step} ${detail}${formatSeconds(s.endMs - s.startMs)} (at ${formatElapsed(s.startMs)})`)}</title></rect>`;
}

function markGlyph(scale: Scale, m: Mark, y: number): string {
  const cx = x(scale, m.atMs);
  const h = LANE_HEIGHT - 4;
  const shape =
    m.kind === 'failed'
      ? `<path class="mark-failed" d="M${px(cx - 5)},${y} l10,${h} m0,-${h} l-10,${h}"/>`
      : `<path class="mark-warning" d="M${px(cx)},${y} l5,${h} h-10 z"/>`;
  return `<g>${shape}<title>${esc(`${formatElapsed(m.atMs)} ${m.text}`)}</title></g>`;
}

function laneLabel(lane: Lane): string {
  const [first = '', ...rest] = lane.hosts;
  if (rest.length === 0) return first;
  return `${first} … ${rest.at(-1) ?? ''} ×${lane.hosts.length}`;
}

function laneRow(scale: Scale, lane: Lane, y: number): string {
  const spread = lane.envelope.length > 0 ? 'median of the batch: ' : '';
  const body = [
    ...lane.envelope.map((s) => spanRect(scale, s, y + 2, 'envelope', 'earliest start to latest end: ')),
    ...lane.spans.map((s) => spanRect(scale, s, y + 2, 'span', spread)),
    ...lane.marks.map((m) => markGlyph(scale, m, y + 2)),
  ];
  const title = `${lane.hosts.join(', ')} — batch ${lane.batch || '–'}, ${lane.outcome}${lane.reason ? `: ${lane.reason}` : ''}`;
  return `<g class="lane o-${cls(lane.outcome)}" data-hosts="${esc(lane.hosts.length)}"><text class="label" x="4" y="${y + LANE_HEIGHT - 4}">${esc(laneLabel(lane))}<title>${esc(title)}</title></text>${body.join('')}</g>`;
}

const IN_FLIGHT_HEIGHT = 40;

/** A window run's hosts in flight over time: a step line under the lanes, labelled with its peak. */
function inFlightRow(scale: Scale, c: ClusterTimeline, top: number): string {
  const peak = Math.max(1, ...c.inFlight.map((p) => p.hosts));
  const y = (hosts: number): string => px(top + IN_FLIGHT_HEIGHT - 4 - (hosts / peak) * (IN_FLIGHT_HEIGHT - 10));
  const points = c.inFlight
    .map((p, i) => {
      const at = px(x(scale, p.atMs));
      const before = c.inFlight[i - 1];
      return before === undefined ? `${at},${y(p.hosts)}` : `${at},${y(before.hosts)} ${at},${y(p.hosts)}`;
    })
    .join(' ');
  return `<g class="in-flight"><text class="label" x="4" y="${top + 14}">in flight (peak ${esc(peak)})</text><polyline class="in-flight" points="${points}"/></g>`;
}

/**
 * One cluster: its batches as bands behind the lanes (a barrier run), a time axis, a lane per host
 * or per merged group, and a window run's hosts in flight over time.
 */
export function clusterSvg(scale: Scale, c: ClusterTimeline): string {
  const lanesEnd = AXIS_HEIGHT + c.lanes.length * LANE_HEIGHT;
  const height = lanesEnd + 4 + (c.inFlight.length > 0 ? IN_FLIGHT_HEIGHT : 0);
  const full = scale.left + scale.width + 10;
  const bands = c.batches.map((b, i) => {
    const x1 = x(scale, b.startMs);
    const w = Math.max(1, x(scale, b.endMs) - x1);
    return `<rect class="band band-${i % 2}" x="${px(x1)}" y="${AXIS_HEIGHT}" width="${px(w)}" height="${height - AXIS_HEIGHT}"><title>${esc(`batch ${b.batch}: ${b.hosts} hosts, ${formatSeconds(b.endMs - b.startMs)}`)}</title></rect><text class="batch" x="${px(x1 + 2)}" y="${height - 2}">b${esc(b.batch)}</text>`;
  });
  const lanes = c.lanes.map((lane, i) => laneRow(scale, lane, AXIS_HEIGHT + i * LANE_HEIGHT));
  const marks = c.marks.map((m) => markGlyph(scale, m, 2));
  const flying = c.inFlight.length > 0 ? inFlightRow(scale, c, lanesEnd + 4) : '';
  return `<svg class="cluster" width="${full}" height="${height}" viewBox="0 0 ${full} ${height}" role="img">${bands.join('')}${axis(scale, height)}${lanes.join('')}${flying}${marks.join('')}</svg>`;
}

/** Requests per second (a line) and failed requests per second (red bars, same scale) over the run. */
export function loadSvg(scale: Scale, load: LoadFigures, startEpochMs: number): string {
  const height = 90;
  const full = scale.left + scale.width + 10;
  const perSecond = 1000 / load.intervalMs;
  const offset = (atMs: number): number => atMs - startEpochMs;
  // Why: a sample that began before the run's first event still overlaps it.
  const visible = load.samples.filter(
    (s) => offset(s.atMs) + load.intervalMs > 0 && offset(s.atMs) <= scale.durationMs,
  );
  const peak = Math.max(1, ...visible.map((s) => (s.ok + s.failed) * perSecond));
  const y = (rate: number): number => height - 4 - (rate / peak) * (height - AXIS_HEIGHT - 8);
  const points = visible
    .map((s) => `${px(x(scale, offset(s.atMs) + load.intervalMs / 2))},${px(y((s.ok + s.failed) * perSecond))}`)
    .join(' ');
  const bars = visible
    .filter((s) => s.failed > 0)
    .map((s) => {
      const top = Math.min(y(s.failed * perSecond), height - 7);
      const x1 = x(scale, offset(s.atMs));
      const w = Math.max(2, x(scale, offset(s.atMs) + load.intervalMs) - x1);
      return `<rect class="failed-bar" x="${px(x1)}" y="${px(top)}" width="${px(w)}" height="${px(height - 4 - top)}"><title>${esc(`${formatElapsed(Math.max(0, offset(s.atMs)))}: ${s.failed} failed, ${s.ok} ok in ${load.intervalMs} ms`)}</title></rect>`;
    });
  const failed = visible.reduce((n, s) => n + s.failed, 0);
  const label = `<text class="label" x="4" y="${AXIS_HEIGHT + 12}">requests/s (peak ${esc(Math.round(peak))})</text><text class="label failed-text" x="4" y="${AXIS_HEIGHT + 28}">failed: ${esc(failed)}</text>`;
  return `<svg class="load" width="${full}" height="${height}" viewBox="0 0 ${full} ${height}" role="img">${axis(scale, height)}${label}<polyline class="rps" points="${points}"/>${bars.join('')}</svg>`;
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : formatElapsed(ms);
}
