import { clusterKey, formatElapsed } from './format.js';
import type { HostSummary, RunSummary } from './summary.js';

const resultLabel: Record<HostSummary['outcome'], string> = {
  done: 'done',
  failed: 'FAILED',
  skipped: 'skipped',
  'not-started': 'not started',
  interrupted: 'INTERRUPTED',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function headline(s: RunSummary): string {
  const t = s.totals;
  const parts = [
    t.failed > 0 ? `${t.failed} FAILED` : undefined,
    t.interrupted > 0 ? `${t.interrupted} INTERRUPTED` : undefined,
    `${t.done} done`,
    t.skipped > 0 ? `${t.skipped} skipped` : undefined,
    t.notStarted > 0 ? `${t.notStarted} not started` : undefined,
  ].filter((p) => p !== undefined);
  const what = `rollout ${s.command}${s.emergency ? ' --emergency' : ''}${s.release ? ` (release ${s.release})` : ''}`;
  const how = s.exitCode === null ? 'did not finish' : `exit ${s.exitCode}`;
  return `${what}, run ${s.runId}: ${plural(t.hosts, 'host')}: ${parts.join(', ')} in ${formatElapsed(s.durationMs)}, ${how}${s.interruptedBy ? ` (interrupted by ${s.interruptedBy})` : ''}`;
}

function note(h: HostSummary): string {
  const parts = [h.depooled ? 'still depooled' : undefined, h.code, h.reason || undefined].filter(
    (p) => p !== undefined,
  );
  return parts.join('; ');
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  // The last column (the note) is not padded, so a long reason does not widen every line.
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** The end-of-run report: a headline, every host (failed first), the unreached hosts and warnings. */
export function renderSummary(s: RunSummary): string {
  const lines = [headline(s)];
  const depooled = s.hosts.filter((h) => h.depooled);
  if (depooled.length > 0) {
    lines.push(
      `${plural(depooled.length, 'host')} left depooled (${depooled.map((h) => h.host).join(', ')}): fix, then \`rollout pool <host> --reason …\`, or \`rollout recover\` after an interrupted run`,
    );
  }
  if (s.hosts.length > 0) {
    lines.push('');
    const rows = s.hosts.map((h) => [
      h.host,
      h.dc,
      h.cluster,
      resultLabel[h.outcome],
      h.outcome === 'skipped' || h.outcome === 'not-started' ? '-' : h.step,
      formatElapsed(h.durationMs),
      note(h),
    ]);
    lines.push(...table([['HOST', 'DC', 'CLUSTER', 'RESULT', 'STEP', 'TIME', 'NOTE'], ...rows]));
  }
  for (const c of s.notStarted)
    lines.push(`not started: ${plural(c.notStarted, 'host')} of ${clusterKey(c.dc, c.cluster)}`);
  const warnings = [...s.warnings, ...s.repoolSkipped.map((r) => `${r.host} not repooled: ${r.reason}`)];
  if (warnings.length > 0) {
    lines.push('', 'warnings:', ...warnings.map((w) => `  - ${w}`));
  }
  return `${lines.join('\n')}\n`;
}
