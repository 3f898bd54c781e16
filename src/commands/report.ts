import fs from 'node:fs';
import path from 'node:path';
import type { Io } from '../cli/io.js';
import { EXIT, RolloutError } from '../errors.js';
import { defaultLogFile } from '../log.js';
import { renderHtml } from '../report/html.js';
import { parseLoadFigures } from '../report/load-figures.js';
import { parseRunLog } from '../report/run-log.js';
import { buildTimeline } from '../report/timeline.js';

export interface ReportArgs {
  /** A run id or a path to a run log (or --json output). */
  readonly run: string;
  readonly output?: string;
  readonly load?: string;
}

/** The ids newRunId makes (src/coordination/journal.ts). */
const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** `<runId>.html` in the current folder, only for a real run id: a crafted `../x` or `/abs` must not pick the path. */
function defaultOutput(runId: string, file: string): string {
  if (!RUN_ID.test(runId))
    throw new RolloutError(
      'E_USAGE',
      `${file}: the run id ${JSON.stringify(runId)} is not like 20261124T195500Z-ab12cd, so it cannot name the report; give -o FILE`,
      { where: file },
    );
  return `${runId}.html`;
}

/** A path that exists is a file; otherwise a run id names `<state dir>/rollout/<runId>.log`. */
export function resolveRunLog(run: string, io: Pick<Io, 'env' | 'cwd'>): string {
  const given = path.resolve(io.cwd, run);
  if (fs.existsSync(given)) {
    if (!fs.statSync(given).isFile())
      throw new RolloutError('E_USAGE', `${given}: not a file (expected a run id or a run log file)`, { where: given });
    return given;
  }
  if (!RUN_ID.test(run))
    throw new RolloutError(
      'E_USAGE',
      `${given}: no such file, and "${run}" is not a run id like 20261124T195500Z-ab12cd`,
      { where: run },
    );
  const file = defaultLogFile(run, io.env);
  if (!fs.existsSync(file)) {
    throw new RolloutError(
      'E_USAGE',
      `unknown run id ${run}: no log at ${file} (run logs are kept in ${path.dirname(file)}; for a run started with --log-file, give that file)`,
      { where: run },
    );
  }
  return file;
}

function read(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new RolloutError(
      'E_USAGE',
      `${file}: cannot read the ${what}: ${error instanceof Error ? error.message : String(error)}`,
      { where: file, cause: error },
    );
  }
}

/** `rollout report`: the run's events as one self-contained HTML page. Reads files only; touches no etcd. */
export async function reportCommand(args: ReportArgs, io: Io): Promise<number> {
  const file = resolveRunLog(args.run, io);
  const events = parseRunLog(read(file, 'run log'), file);
  const loadFile = args.load === undefined ? undefined : path.resolve(io.cwd, args.load);
  const load = loadFile === undefined ? undefined : parseLoadFigures(read(loadFile, 'load figures'), loadFile);
  const timeline = buildTimeline(events);
  const output = path.resolve(io.cwd, args.output ?? defaultOutput(timeline.summary.runId, file));
  const html = renderHtml(timeline, { source: file, ...(load ? { load } : {}) });
  try {
    // Why: the report holds remote output, like the log: owner-only, whatever the umask.
    fs.writeFileSync(output, html, { mode: 0o600 });
    fs.chmodSync(output, 0o600);
  } catch (error) {
    throw new RolloutError(
      'E_USAGE',
      `${output}: cannot write the report: ${error instanceof Error ? error.message : String(error)}`,
      { where: output, cause: error },
    );
  }
  const lanes = timeline.clusters.reduce((n, c) => n + c.lanes.length, 0);
  io.stdout.write(
    `wrote ${output}: run ${timeline.summary.runId}, ${timeline.summary.totals.hosts} hosts in ${timeline.clusters.length} clusters (${lanes} lanes)\n`,
  );
  return EXIT.ok;
}
