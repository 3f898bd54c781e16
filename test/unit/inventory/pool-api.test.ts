import { describe, expect, it } from 'vitest';
import { check, cluster, FILE } from './helpers.js';

describe('etcd.poolApi', () => {
  it('is v3 unless told, and takes v2', () => {
    expect(check(cluster([])).inventory?.etcd.poolApi).toBe('v3');
    expect(check(`etcd: { poolApi: v2 }\n${cluster([])}`).inventory?.etcd.poolApi).toBe('v2');
  });

  it('names the key, the file and the line for anything else', () => {
    expect(check(`etcd: { poolApi: v4 }\n${cluster([])}`).errors).toEqual([
      `${FILE}:1:18: etcd.poolApi: expected one of v3, v2, got "v4"`,
    ]);
  });
});
