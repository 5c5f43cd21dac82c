import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IpPool, MAX_POOL_SIZE, ipPoolFromConfig } from '../../src/daemon/ip-pool.js';
import { parseRange } from '../../src/config/address.js';
import type { AddressRange } from '../../src/config/schema.js';
import { ipv4ToNumber, numberToIpv4 } from '../../src/daemon/ipv4.js';

const ip = (text: string) => ipv4ToNumber(text)!;
const range = (a: string, b: string): [number, number] => [ip(a), ip(b)];

test('ipv4 helpers convert both ways and refuse what is not a dotted quad', () => {
  assert.equal(ipv4ToNumber('192.0.2.1'), 0xc0000201);
  assert.equal(ipv4ToNumber('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4ToNumber('0.0.0.0'), 0);
  assert.equal(numberToIpv4(0xc0000201), '192.0.2.1');
  assert.equal(numberToIpv4(0xffffffff), '255.255.255.255');
  for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '::1', '1.2.3.4 ']) {
    assert.equal(ipv4ToNumber(bad), undefined, bad);
  }
  fc.assert(fc.property(fc.ipV4(), (text) => numberToIpv4(ipv4ToNumber(text)!) === text));
});

test('fresh addresses go out in order, exclusions skipped, until the pool is exhausted', () => {
  const pool = new IpPool(
    [range('192.0.2.10', '192.0.2.20')],
    [range('192.0.2.12', '192.0.2.13'), ['192.0.2.20', '192.0.2.20'].map(ip) as [number, number]],
  );
  assert.equal(pool.size, 8);
  const got: string[] = [];
  for (let a = pool.allocate(); a !== undefined; a = pool.allocate()) got.push(numberToIpv4(a));
  assert.deepEqual(got, [
    '192.0.2.10',
    '192.0.2.11',
    '192.0.2.14',
    '192.0.2.15',
    '192.0.2.16',
    '192.0.2.17',
    '192.0.2.18',
    '192.0.2.19',
  ]);
  assert.equal(pool.inUse, 8);
  assert.equal(pool.free, 0);
  assert.equal(pool.allocate(), undefined, 'exhausted: the caller refuses the call with a CDN');
});

test('released addresses come back oldest-released first, after every fresh one', () => {
  const pool = new IpPool([range('10.0.0.1', '10.0.0.5')]);
  const a = [pool.allocate()!, pool.allocate()!, pool.allocate()!];
  pool.release(a[1]!);
  pool.release(a[0]!);
  assert.equal(pool.allocate(), ip('10.0.0.4'), 'fresh before reused');
  assert.equal(pool.allocate(), ip('10.0.0.5'));
  assert.equal(pool.allocate(), a[1], 'then the one released first');
  assert.equal(pool.allocate(), a[0]);
  assert.equal(pool.allocate(), undefined);
});

test('reserve takes a chosen address; allocate then never hands it out', () => {
  const pool = new IpPool([range('10.0.0.1', '10.0.0.4')]);
  assert.equal(pool.reserve(ip('10.0.0.2')), true);
  assert.equal(pool.reserve(ip('10.0.0.2')), false, 'already in use');
  assert.equal(pool.reserve(ip('10.0.0.9')), false, 'outside the pool');
  const got = [pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()];
  assert.deepEqual(got, [ip('10.0.0.1'), ip('10.0.0.3'), ip('10.0.0.4'), undefined]);
  // A queued address reserved meanwhile is skipped when its turn comes.
  pool.release(ip('10.0.0.1'));
  pool.release(ip('10.0.0.3'));
  assert.equal(pool.reserve(ip('10.0.0.1')), true);
  assert.equal(pool.allocate(), ip('10.0.0.3'));
  assert.equal(pool.allocate(), undefined);
});

test('releasing an address that is not in use changes nothing', () => {
  const pool = new IpPool([range('10.0.0.1', '10.0.0.2')]);
  assert.equal(pool.release(ip('10.0.0.1')), false);
  assert.equal(pool.release(ip('8.8.8.8')), false);
  const a = pool.allocate()!;
  assert.equal(pool.release(a), true);
  assert.equal(pool.release(a), false, 'double release');
  assert.equal(pool.inUse, 0);
  assert.equal(pool.isInUse(a), false);
});

test('overlapping and adjacent ranges merge; exclusions may cover whole ranges', () => {
  const pool = new IpPool(
    [range('10.0.0.5', '10.0.0.9'), range('10.0.0.1', '10.0.0.6'), range('10.0.0.10', '10.0.0.10')],
    [range('10.0.0.0', '10.0.0.2'), range('10.0.0.10', '10.0.1.0')],
  );
  assert.equal(pool.size, 7); // .3 to .9
  assert.equal(pool.contains(ip('10.0.0.3')), true);
  assert.equal(pool.contains(ip('10.0.0.2')), false);
  assert.equal(pool.contains(ip('10.0.0.10')), false);
  assert.equal(
    new IpPool([range('10.0.0.1', '10.0.0.3')], [range('10.0.0.0', '10.0.0.9')]).size,
    0,
  );
  assert.equal(new IpPool([]).allocate(), undefined);
});

test('addresses at the top of the IPv4 space are handled as unsigned numbers', () => {
  const pool = new IpPool([range('255.255.255.254', '255.255.255.255')]);
  assert.equal(pool.allocate(), 0xfffffffe);
  assert.equal(pool.allocate(), 0xffffffff);
});

test('bad ranges and oversized pools are refused at construction', () => {
  assert.throws(() => new IpPool([[5, 4]]), { code: 'ERR_L2TP_CONFIG' });
  assert.throws(() => new IpPool([[-1, 4]]), { code: 'ERR_L2TP_CONFIG' });
  assert.throws(() => new IpPool([[0, 2 ** 32]]), { code: 'ERR_L2TP_CONFIG' });
  assert.throws(() => new IpPool([[1, 2]], [[3, 1.5]]), { code: 'ERR_L2TP_CONFIG' });
  assert.throws(() => new IpPool([[0, MAX_POOL_SIZE]]), { code: 'ERR_L2TP_CONFIG' });
  assert.equal(new IpPool([[0, MAX_POOL_SIZE - 1]]).size, MAX_POOL_SIZE);
});

test('a /16 pool hands out all 65536 addresses, each once', () => {
  const pool = new IpPool([range('10.1.0.0', '10.1.255.255')]);
  const seen = new Set<number>();
  for (let a = pool.allocate(); a !== undefined; a = pool.allocate()) seen.add(a);
  assert.equal(seen.size, 65536);
  for (const a of seen) pool.release(a);
  assert.equal(pool.free, 65536);
  assert.equal(pool.allocate(), ip('10.1.0.0'), 'the first released is the first reused');
});

test('property: random allocate, reserve and release never hand an address to two holders', () => {
  const op = fc.oneof(
    fc.constant({ kind: 'allocate' as const, at: 0 }),
    fc.record({ kind: fc.constant('release' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('reserve' as const), at: fc.nat(40) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const base = ip('192.0.2.0');
      const pool = new IpPool([[base, base + 29]], [[base + 7, base + 9]]);
      const valid = (a: number) => a >= base && a <= base + 29 && (a < base + 7 || a > base + 9);
      const live = new Set<number>();
      for (const { kind, at } of ops) {
        if (kind === 'allocate') {
          const a = pool.allocate();
          if (a === undefined) {
            assert.equal(live.size, pool.size, 'undefined only when exhausted');
            continue;
          }
          assert.ok(valid(a), 'only pool addresses, exclusions honoured');
          assert.ok(!live.has(a), 'never handed out twice');
          live.add(a);
        } else if (kind === 'reserve') {
          const a = base + at;
          assert.equal(pool.reserve(a), valid(a) && !live.has(a));
          if (valid(a)) live.add(a);
        } else if (live.size > 0) {
          const a = [...live][at % live.size]!;
          assert.equal(pool.release(a), true);
          live.delete(a);
        }
        assert.equal(pool.inUse, live.size);
        assert.equal(pool.free, pool.size - live.size);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: without reserve, reuse follows release order exactly', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 200 }), (picks) => {
      const pool = new IpPool([[100, 109]]);
      const live: number[] = [];
      const queue: number[] = [];
      let fresh = 100;
      for (const pick of picks) {
        if (pick % 3 !== 0 || live.length === 0) {
          const a = pool.allocate();
          const expected = fresh <= 109 ? fresh++ : queue.shift();
          assert.equal(a, expected);
          if (a !== undefined) live.push(a);
        } else {
          const [a] = live.splice(pick % live.length, 1);
          pool.release(a!);
          queue.push(a!);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('a pool from an LNS section config: ranges and exclusions as the operator wrote them', () => {
  const r = (text: string) => parseRange(text) as AddressRange;
  const pool = ipPoolFromConfig({
    ranges: [r('192.0.2.0/29'), r('198.51.100.7')],
    exclude: [r('192.0.2.0-192.0.2.1'), r('192.0.2.7')],
  });
  assert.equal(pool.size, 6);
  assert.equal(numberToIpv4(pool.allocate()!), '192.0.2.2');
  assert.equal(pool.contains(ip('198.51.100.7')), true);
  assert.throws(() => ipPoolFromConfig({ ranges: [r('2001:db8::/120')], exclude: [] }), {
    code: 'ERR_L2TP_CONFIG',
  });
});
