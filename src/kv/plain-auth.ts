import { RolloutError } from '../errors.js';
import type { EtcdSettings } from '../inventory/types.js';

/** What an etcd endpoint must look like (the inventory's rule, also applied to --etcd). */
export const ENDPOINT = /^https?:\/\/[^/\s]+\/?$/;

/** A warning when a password would cross the network in clear: a username and an http:// endpoint. */
export function plainTextPasswordWarning(settings: EtcdSettings, endpoints: readonly string[]): string | undefined {
  if (settings.username === undefined) return undefined;
  const plain = endpoints.filter((e) => e.startsWith('http://'));
  if (plain.length === 0) return undefined;
  return `etcd.username is set and ${plain.join(', ')} ${plain.length === 1 ? 'is' : 'are'} plain http://: the etcd password crosses the network unencrypted; use https:// endpoints (with etcd.ca)`;
}

/**
 * A CA or client certificate says the operator wants TLS: an http:// endpoint beside it would send
 * the v2 basic-auth header (the password, base64) in clear, so the v2 client refuses it outright.
 */
export function refusePlainWithTls(settings: EtcdSettings, endpoints: readonly string[]): void {
  if (settings.ca === undefined && settings.cert === undefined) return;
  const plain = endpoints.find((e) => e.startsWith('http://'));
  if (plain === undefined) return;
  throw new RolloutError(
    'E_INVENTORY',
    `etcd.${settings.ca === undefined ? 'cert' : 'ca'} is set but the endpoint ${plain} is plain http://: rollout will not send etcd requests (and credentials) unencrypted beside a TLS setting; write https://`,
    { where: 'etcd.endpoints' },
  );
}
