// `lb.confirm` and `lb.pybal`: how a datacenter's load balancers confirm a depool (docs/lb-agent.md).
import type { Node } from 'yaml';
import { readValue, type Kind } from './fields.js';
import type { LbSettings, PybalSettings } from './types.js';
import { error, join, readMap, type Ctx, type Located } from './yaml-nodes.js';

/** The PyBal pool a conftool service is in, when the inventory does not say: the same name. */
export const DEFAULT_PYBAL_SERVICE = '{service}';

function readPybal(ctx: Ctx, node: Node | null, path: string): PybalSettings | undefined {
  const m = readMap(ctx, node, path, ['urls', 'service']);
  if (m === undefined) return undefined;
  const urlsEntry = m.get('urls');
  if (urlsEntry === undefined) {
    error(
      ctx,
      node,
      join(path, 'urls'),
      'urls is required: the instrumentation URL of every PyBal, like http://lvs1001:9090',
    );
    return undefined;
  }
  const urls = readValue(ctx, urlsEntry.value, join(path, 'urls'), { t: 'strings' }) as string[] | undefined;
  for (const [i, url] of (urls ?? []).entries()) {
    if (!/^https?:\/\/[^/]+\/?$/.test(url))
      error(
        ctx,
        urlsEntry.value,
        join(path, `urls[${i}]`),
        `expected a PyBal instrumentation URL like "http://lvs1001:9090" (scheme, host, port; no path), got ${JSON.stringify(url)}`,
      );
  }
  const serviceEntry = m.get('service');
  const service =
    serviceEntry === undefined
      ? DEFAULT_PYBAL_SERVICE
      : (readValue(ctx, serviceEntry.value, join(path, 'service'), { t: 'template' }) as string | undefined);
  if (urls === undefined || service === undefined || ctx.errors.some((e) => e.includes(`${path}.urls[`)))
    return undefined;
  return { urls: urls.map((url) => url.replace(/\/+$/, '')), service };
}

export const PYBAL_KIND: Kind = { t: 'custom', read: readPybal };

/** `confirm: pybal` needs `pybal.urls`; reported where `confirm` was written. */
export function checkLbConfirm(ctx: Ctx, fields: Readonly<Record<string, Located<unknown>>>, lb: LbSettings): void {
  const confirm = fields['confirm'];
  const reported = ctx.errors.some((e) => e.includes('.lb.pybal'));
  if (lb.confirm === 'pybal' && lb.pybal === undefined && confirm !== undefined && !reported) {
    const text = `${confirm.where}: ${confirm.path}: confirm "pybal" needs lb.pybal.urls (the instrumentation URL of every PyBal of the datacenter); see docs/lb-agent.md`;
    if (!ctx.errors.includes(text)) ctx.errors.push(text);
  }
}
