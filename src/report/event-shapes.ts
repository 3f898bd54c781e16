// The fields `rollout report` reads from each event, with their types: a crafted or damaged log is refused, never drawn.
type FieldType = 'string' | 'number' | 'boolean' | 'strings' | 'string|null' | 'clusters';

const where = { dc: 'string', cluster: 'string' } as const;
const onHost = { ...where, host: 'string' } as const;

/** Per event name: the fields that must be there, and their type. Other fields are ignored. */
const SHAPES: Readonly<Record<string, Readonly<Record<string, FieldType>>>> = {
  'run.started': {
    command: 'string',
    argv: 'strings',
    user: 'string',
    machine: 'string',
    emergency: 'boolean',
    release: 'string|null',
    clusters: 'clusters',
  },
  'batch.started': { ...where, batch: 'number', batches: 'number', hosts: 'strings' },
  'host.dispatched': { ...onHost, width: 'number', inFlight: 'number' },
  'capacity.waiting': { ...where },
  'host.depooled': onHost,
  'lb.confirmed': onHost,
  'lb.propagation-assumed': onHost,
  'lb.repool-confirmed': onHost,
  'host.drained': onHost,
  'host.restarted': { ...onHost, exitCode: 'number' },
  'health.passed': { ...onHost, detail: 'string' },
  'health.failed': { ...onHost, detail: 'string' },
  'host.repooled': onHost,
  'host.repool-skipped': { ...onHost, reason: 'string' },
  'host.skipped': { ...onHost, reason: 'string' },
  'host.done': onHost,
  'host.failed': { ...onHost, step: 'string', reason: 'string', code: 'string', depooled: 'boolean' },
  'batch.finished': { ...where, batch: 'number', ok: 'number', failed: 'number' },
  'run.warning': { message: 'string' },
  'run.interrupted': { signal: 'string' },
  'run.paused': { by: 'string', reason: 'string' },
  'run.resumed': { by: 'string', pausedMs: 'number' },
  'run.aborted': { by: 'string', reason: 'string' },
  'run.finished': {
    exitCode: 'number',
    ok: 'number',
    failed: 'number',
    skipped: 'number',
    notStarted: 'number',
    durationMs: 'number',
  },
};

function fits(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string|null':
      return value === null || typeof value === 'string';
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'clusters':
      return (
        Array.isArray(value) &&
        value.every(
          (c: unknown) =>
            typeof c === 'object' &&
            c !== null &&
            fits((c as Record<string, unknown>)['dc'], 'string') &&
            fits((c as Record<string, unknown>)['cluster'], 'string') &&
            fits((c as Record<string, unknown>)['hosts'], 'number') &&
            fits((c as Record<string, unknown>)['batches'], 'number'),
        )
      );
  }
}

const describeType = (type: FieldType): string =>
  type === 'strings' ? 'a list of strings' : type === 'clusters' ? 'a list of {dc, cluster, hosts, batches}' : type;

/** What is wrong with an event's fields, or undefined when the report can use it. */
export function shapeProblem(event: Readonly<Record<string, unknown>>): string | undefined {
  const shape = SHAPES[String(event['event'])];
  if (shape === undefined) return undefined;
  for (const [field, type] of Object.entries(shape)) {
    if (!fits(event[field], type))
      return `event ${String(event['event'])}: "${field}" should be ${describeType(type)}, got ${JSON.stringify(event[field]) ?? 'nothing'}`;
  }
  return undefined;
}
