import { describe, expect, it } from 'vitest';
import { parseOpcacheAbove } from '../../../src/commands/opcache-arg.js';
import { fleet } from '../../support/fleet.js';

const OPCACHE = { url: 'http://{address}/opcache', command: undefined, thresholdPercent: undefined };
const clusters = (withSource: boolean) =>
  fleet()
    .cluster('appserver', 2, withSource ? { settings: { restart: { opcache: OPCACHE } } } : {})
    .build().inventory.datacenters[0]!.clusters;

describe('--if-opcache-above', () => {
  it('reads a percentage, with or without the % sign', () => {
    expect(parseOpcacheAbove('80%', clusters(true))).toBe(80);
    expect(parseOpcacheAbove('12.5', clusters(true))).toBe(12.5);
    expect(parseOpcacheAbove(undefined, clusters(false))).toBeUndefined();
  });

  it('refuses what is not a percentage from 0 to 100, naming the option', () => {
    for (const bad of ['high', '120%', '-5%', '']) {
      expect(() => parseOpcacheAbove(bad, clusters(true))).toThrow(
        `--if-opcache-above: expected a percentage from 0% to 100% like "80%", got "${bad}"`,
      );
    }
  });

  it('refuses a selection with a host that has nowhere to read its opcache from, naming it', () => {
    expect(() => parseOpcacheAbove('80%', clusters(false))).toThrow(
      /--if-opcache-above: mw1001 has no restart\.opcache\.url or restart\.opcache\.command .* Nothing was changed/,
    );
  });
});
