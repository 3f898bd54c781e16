import { describe, expect, it } from 'vitest';
import { expandNodeset, naturalCompare } from '../../../src/inventory/nodeset.js';

const hosts = (pattern: string): string[] => {
  const r = expandNodeset(pattern);
  if ('error' in r) throw new Error(r.error);
  return r.hosts;
};
const errorOf = (pattern: string): string => {
  const r = expandNodeset(pattern);
  return 'error' in r ? r.error : `no error, got ${r.hosts.join(',')}`;
};

describe('expandNodeset', () => {
  it('returns a plain name as it is', () => {
    expect(hosts('mw1001.eqiad.wmnet')).toEqual(['mw1001.eqiad.wmnet']);
  });

  it('expands a range with a suffix', () => {
    expect(hosts('mw[1001-1003].x')).toEqual(['mw1001.x', 'mw1002.x', 'mw1003.x']);
    expect(hosts('mw[1001-1020].eqiad.wmnet')).toHaveLength(20);
  });

  it('expands lists mixing ranges and single numbers, in the order written', () => {
    expect(hosts('mw[1001-1003,1010].x')).toEqual(['mw1001.x', 'mw1002.x', 'mw1003.x', 'mw1010.x']);
    expect(hosts('mw[7, 2-3]')).toEqual(['mw7', 'mw2', 'mw3']);
  });

  it('keeps the width of zero-padded bounds', () => {
    expect(hosts('db[01-10]')).toEqual([
      'db01',
      'db02',
      'db03',
      'db04',
      'db05',
      'db06',
      'db07',
      'db08',
      'db09',
      'db10',
    ]);
    expect(hosts('db[008-011]')).toEqual(['db008', 'db009', 'db010', 'db011']);
  });

  it('takes the cartesian product of several groups', () => {
    expect(hosts('r[1-2]n[1-3]')).toEqual(['r1n1', 'r1n2', 'r1n3', 'r2n1', 'r2n2', 'r2n3']);
  });

  it('accepts a single-number group', () => {
    expect(hosts('mw[5].x')).toEqual(['mw5.x']);
  });

  it('rejects a reversed range and says how to write it', () => {
    expect(errorOf('mw[10-1]')).toMatch(/reversed range "10-1" \(write 1-10\)/);
  });

  it.each([
    ['mw[1-3', /unbalanced "\["/],
    ['mw1-3]', /unbalanced "\]"/],
    ['mw[[1-3]]', /unbalanced "\["/],
    ['mw[]', /empty group/],
    ['mw[1,,2]', /empty item/],
    ['mw[a-c]', /"a-c" .* is not a number/],
    ['mw[1-2-3]', /is not a number or a range/],
    ['mw[-3]', /is not a number/],
  ])('rejects the malformed nodeset %s', (pattern, message) => {
    expect(errorOf(pattern)).toMatch(message);
  });

  it('refuses a nodeset that would expand to an absurd number of hosts', () => {
    expect(errorOf('mw[1-1000000]')).toMatch(/more than 10000/);
    expect(errorOf('a[1-1000]b[1-1000]')).toMatch(/expands to more than 10000 hosts/);
    expect(expandNodeset('mw[1-10000]')).toMatchObject({ hosts: expect.any(Array) });
    expect(errorOf('mw[1-10001]')).toMatch(/more than 10000/);
  });

  it('counts before it builds: a group of many large ranges is refused without making its names', () => {
    // 5,000 ranges of 9,999 names: 50 million strings if built first.
    const group = Array.from({ length: 5000 }, () => '1-9999').join(',');
    expect(errorOf(`mw[${group}]`)).toMatch(/expands to more than 10000 hosts/);
  });
});

describe('naturalCompare', () => {
  it('sorts digit runs by value, so mw2 comes before mw10', () => {
    expect(['mw10', 'mw2', 'mw1'].sort(naturalCompare)).toEqual(['mw1', 'mw2', 'mw10']);
  });

  it('compares every digit run of a name in turn', () => {
    const names = ['r2n10.x', 'r10n1.x', 'r2n9.x', 'r1n100.x'];
    expect(names.sort(naturalCompare)).toEqual(['r1n100.x', 'r2n9.x', 'r2n10.x', 'r10n1.x']);
  });

  it('orders by the text between numbers', () => {
    expect(['mw2.eqiad', 'mw2.codfw', 'db3'].sort(naturalCompare)).toEqual(['db3', 'mw2.codfw', 'mw2.eqiad']);
  });

  it('is a consistent total order on padded numbers and prefixes', () => {
    expect(naturalCompare('db01', 'db1')).not.toBe(0);
    expect(Math.sign(naturalCompare('db01', 'db1'))).toBe(-Math.sign(naturalCompare('db1', 'db01')));
    expect(naturalCompare('mw1', 'mw1.x')).toBeLessThan(0);
    expect(naturalCompare('same9', 'same9')).toBe(0);
  });

  it('handles numbers longer than a double can hold exactly', () => {
    expect(naturalCompare('h123456789012345678901', 'h123456789012345678902')).toBeLessThan(0);
  });
});
