// The nested restart settings of the other strategies: `restart.dualMaster` and `restart.opcache`.
import { isMap, type Node } from 'yaml';
import { readAmount, FRACTION_RULE } from './amount.js';
import { checkTemplate, positiveSeconds, readValue, type Kind } from './fields.js';
import type { DualMasterSettings, OpcacheSettings, RestartSettings, Slot } from './types.js';
import { error, isEmpty, join, readMap, type Ctx, type Located } from './yaml-nodes.js';

export const SLOTS: readonly Slot[] = ['A', 'B'];
const DUAL_KEYS = [
  'dormantCommand',
  'restartCommand',
  'emergencyRestartCommand',
  'switchCommand',
  'statusUrl',
  'healthUrl',
  'masterField',
  'idleTimeout',
] as const;
const REQUIRED_DUAL = ['dormantCommand', 'restartCommand', 'switchCommand', 'statusUrl', 'healthUrl'] as const;
const DEFAULT_MASTER_FIELD = 'masterPid';
const DEFAULT_IDLE_TIMEOUT_SECONDS = 30;

/** A template that may also name {slot}. */
function slotTemplate(ctx: Ctx, node: Node | null, path: string, without: readonly string[] = []): string | undefined {
  const value = readValue(ctx, node, path, { t: 'string' }) as string | undefined;
  if (value !== undefined) checkTemplate(ctx, node, path, value, ['slot'], without);
  return value;
}

/** One URL per slot: a template with {slot}, or a mapping `{ A: url, B: url }`. */
function perSlotUrl(
  ctx: Ctx,
  node: Node | null,
  path: string,
  without: readonly string[] = [],
): Readonly<Record<Slot, string>> | undefined {
  if (isMap(node)) {
    const m = readMap(ctx, node, path, SLOTS);
    if (m === undefined) return undefined;
    const out: Partial<Record<Slot, string>> = {};
    for (const slot of SLOTS) {
      const e = m.get(slot);
      if (e === undefined)
        error(
          ctx,
          node,
          join(path, slot),
          `missing the ${slot} master's URL (give both A and B, or one template with {slot})`,
        );
      else {
        const url = readValue(ctx, e.value, join(path, slot), { t: 'template', without }) as string | undefined;
        if (url !== undefined) out[slot] = url;
      }
    }
    return out.A !== undefined && out.B !== undefined ? { A: out.A, B: out.B } : undefined;
  }
  const template = slotTemplate(ctx, node, path, without);
  if (template === undefined) return undefined;
  if (!template.includes('{slot}'))
    error(ctx, node, path, `one URL for both masters must name {slot}, or give a mapping { A: …, B: … }`);
  return { A: template.replaceAll('{slot}', 'A'), B: template.replaceAll('{slot}', 'B') };
}

function readDualMaster(ctx: Ctx, node: Node | null, path: string): DualMasterSettings | undefined {
  const m = readMap(ctx, node, path, DUAL_KEYS);
  if (m === undefined) return undefined;
  const at = (key: string): Node | null => m.get(key)?.value ?? null;
  for (const key of REQUIRED_DUAL)
    if (!m.has(key) || isEmpty(at(key)))
      error(ctx, node, join(path, key), `${key} is required for the dual-master strategy (see docs/inventory.md)`);
  const command = (key: string): string | undefined =>
    m.has(key) ? slotTemplate(ctx, at(key), join(path, key)) : undefined;
  const restartCommand = command('restartCommand');
  if (restartCommand !== undefined && !restartCommand.includes('{slot}'))
    error(
      ctx,
      at('restartCommand'),
      join(path, 'restartCommand'),
      'restartCommand must name {slot}: it restarts one master, A or B',
    );
  const emergency = command('emergencyRestartCommand');
  const dormantCommand = command('dormantCommand');
  const switchCommand = command('switchCommand');
  const statusUrl = m.has('statusUrl')
    ? perSlotUrl(ctx, at('statusUrl'), join(path, 'statusUrl'), ['release'])
    : undefined;
  const healthUrl = m.has('healthUrl') ? perSlotUrl(ctx, at('healthUrl'), join(path, 'healthUrl')) : undefined;
  const masterField = m.has('masterField')
    ? (readValue(ctx, at('masterField'), join(path, 'masterField'), { t: 'string' }) as string | undefined)
    : DEFAULT_MASTER_FIELD;
  const idle = m.has('idleTimeout')
    ? (readValue(ctx, at('idleTimeout'), join(path, 'idleTimeout'), positiveSeconds) as number | undefined)
    : DEFAULT_IDLE_TIMEOUT_SECONDS;
  if (
    restartCommand === undefined ||
    dormantCommand === undefined ||
    switchCommand === undefined ||
    statusUrl === undefined ||
    healthUrl === undefined ||
    masterField === undefined ||
    idle === undefined
  )
    return undefined;
  return {
    dormantCommand,
    restartCommand,
    emergencyRestartCommand: emergency ?? restartCommand,
    switchCommand,
    statusUrl,
    healthUrl,
    masterField,
    idleTimeoutSeconds: idle,
  };
}

function readOpcache(ctx: Ctx, node: Node | null, path: string): OpcacheSettings | undefined {
  const m = readMap(ctx, node, path, ['url', 'command', 'threshold']);
  if (m === undefined) return undefined;
  const read = (key: string, kind: Kind): string | undefined => {
    const e = m.get(key);
    return e === undefined ? undefined : (readValue(ctx, e.value, join(path, key), kind) as string | undefined);
  };
  const url = read('url', { t: 'template', without: ['release'] });
  const command = read('command', { t: 'template', without: ['release'] });
  if (m.has('url') === m.has('command'))
    error(
      ctx,
      node,
      path,
      'give exactly one of url (opcache_get_status() as JSON) or command (prints it, run over SSH)',
    );
  const t = m.get('threshold');
  const threshold = t === undefined ? undefined : readAmount(ctx, t.value, join(path, 'threshold'), FRACTION_RULE);
  if (threshold !== undefined && threshold.kind !== 'percent')
    error(ctx, t?.value ?? null, join(path, 'threshold'), 'expected a percentage like "80%"');
  if ((t !== undefined && threshold?.kind !== 'percent') || (url === undefined && command === undefined))
    return undefined;
  // Without a threshold the figures are only read for --if-opcache-above.
  return { url, command, thresholdPercent: threshold?.kind === 'percent' ? threshold.value : undefined };
}

export const DUAL_MASTER_KIND: Kind = { t: 'custom', read: readDualMaster };
export const OPCACHE_KIND: Kind = { t: 'custom', read: readOpcache };

/** `strategy: dual-master` needs `dualMaster`; reported where the strategy was written. */
export function checkStrategy(
  ctx: Ctx,
  fields: Readonly<Record<string, Located<unknown>>>,
  restart: RestartSettings,
): void {
  const strategy = fields['strategy'];
  // Why: a dualMaster written with mistakes is already reported; saying it is missing would mislead.
  const reported = ctx.errors.some((e) => e.includes('.restart.dualMaster'));
  if (restart.strategy === 'dual-master' && restart.dualMaster === undefined && strategy !== undefined && !reported) {
    const text = `${strategy.where}: ${strategy.path}: strategy "dual-master" needs restart.dualMaster (dormantCommand, restartCommand, switchCommand, statusUrl, healthUrl); see docs/inventory.md`;
    if (!ctx.errors.includes(text)) ctx.errors.push(text);
  }
}
