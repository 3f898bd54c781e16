import { formatElapsed } from './format.js';
import { createHash } from 'node:crypto';
import { clusterSvg, esc, formatSeconds, loadSvg } from './html-svg.js';
import type { Scale } from './html-svg.js';
import type { LoadFigures } from './load-figures.js';
import { SPAN_STEPS } from './timeline.js';
import type { ClusterTimeline, RunTimeline } from './timeline.js';

export interface HtmlOptions {
  /** Load figures to overlay (the demo's load generator). */
  readonly load?: LoadFigures;
  /** Where the events came from, shown in the footer. */
  readonly source?: string;
}

// Why: one file that opens anywhere, offline: inline CSS, server-side SVG, no script, no fonts.
const CSS = `
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}h2{font-size:14px;margin:18px 0 4px}
.totals{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}
.total{border:1px solid #ccc;border-radius:4px;padding:4px 10px;min-width:70px}
.total b{display:block;font-size:18px}.total.bad{border-color:#c00;color:#c00}.total.warn{border-color:#e69138}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
ul.warnings{color:#a35200;margin:4px 0}ul.failures{color:#c00;margin:4px 0}
svg text{font-size:11px;fill:#222}svg text.tick,svg text.batch{fill:#888;font-size:10px}
line.tick{stroke:#eee}polyline.in-flight{fill:none;stroke:#3a6ea5;stroke-width:1.5}rect.band-0{fill:#f7f7fb}rect.band-1{fill:#eef1f7}
rect.envelope{opacity:.3}rect.failed{stroke:#c00;stroke-width:2}
g.o-failed text.label,.failed-text{fill:#c00;font-weight:bold}g.o-skipped text.label,g.o-not-started text.label{fill:#999}g.o-interrupted text.label{fill:#a35200}
path.mark-failed{stroke:#c00;stroke-width:2.5;fill:none}path.mark-warning{fill:#e69138}
polyline.rps{fill:none;stroke:#3d85c6;stroke-width:1.5}rect.failed-bar{fill:#c00}
details{margin:2px 0 0 4px;color:#555}footer{margin-top:24px;color:#888;font-size:11px}
`;

const STEP_COLOURS: Readonly<Record<(typeof SPAN_STEPS)[number], string>> = {
  depool: '#8e7cc3',
  'lb-confirm': '#6fa8dc',
  drain: '#93c47d',
  restart: '#f6b26b',
  health: '#45818e',
  repool: '#38761d',
};
// Why: fill colours the SVG spans, background the legend's swatches.
const STEP_CSS = SPAN_STEPS.map(
  (step) => `.s-${step}{fill:${STEP_COLOURS[step]};background:${STEP_COLOURS[step]}}`,
).join('');

/** The report runs no script and loads nothing: only its own stylesheet, allowed by hash. */
const CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256')
  .update(CSS + STEP_CSS)
  .digest('base64')}'; base-uri 'none'; form-action 'none'`;

function total(label: string, value: number | string, tone = ''): string {
  return `<div class="total ${tone}" data-total="${esc(label)}"><b>${esc(String(value))}</b>${esc(label)}</div>`;
}

function clusterSection(scale: Scale, c: ClusterTimeline): string {
  const merged = c.lanes.filter((l) => l.hosts.length > 1);
  const failed = c.lanes.filter((l) => l.outcome === 'failed').reduce((n, l) => n + l.hosts.length, 0);
  const shape = c.inFlight.length > 0 ? 'a sliding window' : `${c.batches.length} batches`;
  const heading = `${esc(`${c.cluster}@${c.dc} — ${c.hosts} hosts, ${shape}`)}${failed ? `, <span class="failed-text">${esc(failed)} failed</span>` : ''}${c.notStarted ? esc(`, ${c.notStarted} not started`) : ''}${c.collapsed ? esc(` (lanes that are the same merged: ${c.lanes.length} lanes)`) : ''}`;
  const groups =
    merged.length === 0
      ? ''
      : `<details><summary>hosts of the merged lanes</summary>${merged.map((l) => `<div>${esc(`batch ${l.batch} (${l.outcome}, ×${l.hosts.length}): ${l.hosts.join(' ')}`)}</div>`).join('')}</details>`;
  return `<section class="cluster" data-dc="${esc(c.dc)}" data-cluster="${esc(c.cluster)}" data-hosts="${esc(c.hosts)}"><h2>${heading}</h2>${clusterSvg(scale, c)}${groups}</section>`;
}

/** The whole report: totals on top, warnings and failures, the load overlay, then a timeline per cluster. Pure. */
export function renderHtml(t: RunTimeline, options: HtmlOptions = {}): string {
  const s = t.summary;
  const scale: Scale = { durationMs: Math.max(1000, t.durationMs), left: 250, width: 900 };
  const tt = s.totals;
  const started = new Date(t.startEpochMs).toISOString();
  const title = `rollout ${s.command}${s.emergency ? ' --emergency' : ''} — run ${s.runId}`;
  const failures = s.hosts.filter((h) => h.outcome === 'failed' || h.outcome === 'interrupted');
  const warnings = [
    ...t.marks.map((m) => `${formatElapsed(m.atMs)} ${m.text}`),
    ...s.warnings.filter((w) => !t.marks.some((m) => m.text === w)),
  ];
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<div>started ${esc(started)}${s.release ? `, release ${esc(s.release)}` : ''}; exit code ${esc(s.exitCode ?? 'none (the log stops before run.finished)')}${s.interruptedBy ? `; interrupted by ${esc(s.interruptedBy)}` : ''}</div>`,
    `<div class="totals">${[
      total('hosts', tt.hosts),
      total('done', tt.done),
      total('failed', tt.failed, tt.failed ? 'bad' : ''),
      total('left depooled', tt.leftDepooled, tt.leftDepooled ? 'bad' : ''),
      total('skipped', tt.skipped),
      total('not started', tt.notStarted, tt.notStarted ? 'warn' : ''),
      total('interrupted', tt.interrupted, tt.interrupted ? 'warn' : ''),
      total('warnings', warnings.length, warnings.length ? 'warn' : ''),
      total('duration', formatSeconds(s.durationMs)),
    ].join('')}</div>`,
    `<div class="legend">${SPAN_STEPS.map((step) => `<span><i class="s-${step}"></i>${step}</span>`).join('')}<span>✕ failed</span><span>▲ warning</span></div>`,
    failures.length
      ? `<h2>failed hosts</h2><ul class="failures">${failures.map((h) => `<li>${esc(`${h.host} (${h.cluster}@${h.dc}) at ${h.step}${h.code ? ` [${h.code}]` : ''}: ${h.reason}${h.depooled ? ' — still depooled' : ''}`)}</li>`).join('')}</ul>`
      : '',
    warnings.length
      ? `<h2>warnings</h2><ul class="warnings">${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`
      : '',
    options.load && options.load.samples.length > 0
      ? `<h2>load during the run</h2>${loadSvg(scale, options.load, t.startEpochMs)}`
      : '',
    ...t.clusters.map((c) => clusterSection(scale, c)),
    `<footer>rollout report${options.source ? ` of ${esc(options.source)}` : ''}. Hover a span for its step and duration.</footer>`,
  ];
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${CSP}"><title>${esc(title)}</title><style>${CSS}${STEP_CSS}</style></head>\n<body><main id="report" data-run-id="${esc(s.runId)}" data-hosts="${esc(tt.hosts)}" data-lanes="${esc(t.clusters.reduce((n, c) => n + c.lanes.length, 0))}">\n${body.filter(Boolean).join('\n')}\n</main></body></html>\n`;
}
