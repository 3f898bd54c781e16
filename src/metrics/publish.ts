import fs from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../errors.js';
import type { MetricsSettings } from '../inventory/types.js';
import { httpRequest } from '../net/request.js';
import type { RunFigures } from './collector.js';
import { parseExposition, type Sample } from './exposition.js';
import { applyCluster, renderSamples, sampleSet } from './families.js';

export const TEXTFILE_NAME = 'rollout.prom';

/**
 * node_exporter's textfile collector: the previous rollout.prom is read (counters go on, the
 * clusters this run did not touch keep their series), then replaced atomically (write, rename).
 */
export async function writeTextfile(dir: string, run: RunFigures): Promise<string> {
  const file = path.join(dir, TEXTFILE_NAME);
  const before = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const set = sampleSet(parseExposition(before));
  for (const c of run.clusters) applyCluster(set, run, c);
  // Why: node_exporter reads *.prom only, so a half-written temp file is never collected; rename is atomic.
  const tmp = path.join(dir, `.${TEXTFILE_NAME}.${process.pid}.tmp`);
  await fs.writeFile(tmp, renderSamples(set), { mode: 0o644 });
  await fs.rename(tmp, file);
  return file;
}

const group = (base: string, dc: string, cluster: string): string =>
  `${base.replace(/\/+$/, '')}/metrics/job/rollout/dc/${encodeURIComponent(dc)}/cluster/${encodeURIComponent(cluster)}`;

/** The series a group already holds on the Pushgateway, without the labels it adds itself. */
function groupSamples(all: readonly Sample[], dc: string, cluster: string): Sample[] {
  return all
    .filter((s) => s.labels['job'] === 'rollout' && s.labels['dc'] === dc && s.labels['cluster'] === cluster)
    .map((s) => {
      const { job: _job, instance: _instance, ...labels } = s.labels;
      return { ...s, labels };
    });
}

/** A Pushgateway: one group per cluster (job="rollout", dc, cluster), replaced whole, counters carried on. */
export async function pushMetrics(base: string, run: RunFigures, timeoutSeconds: number): Promise<void> {
  const timeoutMs = timeoutSeconds * 1000;
  const scrape = await httpRequest({ method: 'GET', url: `${base.replace(/\/+$/, '')}/metrics`, timeoutMs });
  if (scrape.status !== 200) throw new Error(`GET /metrics: HTTP ${scrape.status}`);
  const current = parseExposition(scrape.text);
  for (const c of run.clusters) {
    const set = sampleSet(groupSamples(current, c.dc, c.cluster));
    applyCluster(set, run, c);
    const answer = await httpRequest({
      method: 'PUT',
      url: group(base, c.dc, c.cluster),
      headers: { 'content-type': 'text/plain; version=0.0.4' },
      body: renderSamples(set),
      timeoutMs,
    });
    if (answer.status < 200 || answer.status > 299)
      throw new Error(`PUT ${group(base, c.dc, c.cluster)}: HTTP ${answer.status} ${answer.text.trim().slice(0, 200)}`);
  }
}

/** Both outputs, each on its own: a failure is a warning, never the run's outcome. */
export async function publishMetrics(
  settings: MetricsSettings,
  run: RunFigures,
  onWarning: (message: string) => void,
): Promise<void> {
  if (settings.textfile !== undefined)
    await writeTextfile(settings.textfile, run).catch((error: unknown) =>
      onWarning(
        `metrics.textfile: could not write ${path.join(settings.textfile ?? '', TEXTFILE_NAME)}: ${describeError(error)}`,
      ),
    );
  if (settings.pushgateway !== undefined)
    await pushMetrics(settings.pushgateway, run, settings.timeoutSeconds).catch((error: unknown) =>
      onWarning(`metrics.pushgateway: could not push to ${settings.pushgateway ?? ''}: ${describeError(error)}`),
    );
}
