import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  coveredBy,
  formatAddress,
  parseAddress,
  parsePeerAddress,
  parseRange,
  poolAddresses,
  rangeContains,
  rangesOverlap,
  rangeSize,
  subtractRange,
} from '../../src/config/address.js';
import type { AddressRange } from '../../src/config/schema.js';

const range = (t: string): AddressRange => {
  const r = parseRange(t);
  assert.ok(typeof r !== 'string', String(r));
  return r;
};

test('IPv4 and IPv6 addresses parse and format (RFC 5952 compression)', () => {
  assert.deepEqual(parseAddress('192.0.2.1'), { family: 4, value: 0xc0000201n });
  assert.equal(parseAddress('2001:db8::1')?.value, 0x20010db8000000000000000000000001n);
  assert.equal(formatAddress(6, parseAddress('2001:db8:0:0:1:0:0:1')!.value), '2001:db8::1:0:0:1');
  assert.equal(formatAddress(6, parseAddress('::')!.value), '::');
  assert.equal(parseAddress('::ffff:192.0.2.1')?.value, 0xffffc0000201n);
  assert.deepEqual(parsePeerAddress('::ffff:192.0.2.1'), { family: 4, value: 0xc0000201n });
  for (const bad of ['', '1.2.3', '256.1.1.1', '1::2::3', 'fe80::1%eth0', 'host'])
    assert.equal(parseAddress(bad), null, bad);
});

test('address text round-trips (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
      const a = parseAddress(text);
      assert.ok(a !== null);
      const again = parseAddress(formatAddress(a.family, a.value));
      assert.deepEqual(again, a);
    }),
  );
});

test('ranges: single, CIDR (host bits masked), dash; containment and overlap', () => {
  const cidr = range('10.1.2.3/24');
  assert.equal(formatAddress(4, cidr.first), '10.1.2.0');
  assert.equal(formatAddress(4, cidr.last), '10.1.2.255');
  assert.equal(rangeSize(range('2001:db8::/64')), 1n << 64n);
  assert.equal(rangeSize(range('10.0.0.5')), 1n);
  assert.equal(rangeSize(range('0.0.0.0/0')), 1n << 32n);
  const dash = range(' 10.0.0.10 - 10.0.0.20 ');
  assert.ok(rangeContains(dash, parseAddress('10.0.0.15')!));
  assert.ok(!rangeContains(dash, parseAddress('10.0.0.21')!));
  assert.ok(!rangeContains(range('::/0'), parseAddress('10.0.0.1')!), 'families never mix');
  assert.ok(rangesOverlap(dash, range('10.0.0.20/30')));
  assert.ok(!rangesOverlap(dash, range('10.0.0.21-10.0.0.30')));
  assert.ok(coveredBy(dash, [range('10.0.0.0-10.0.0.12'), range('10.0.0.13-10.0.0.40')]));
  assert.ok(!coveredBy(dash, [range('10.0.0.0-10.0.0.12'), range('10.0.0.14-10.0.0.40')]));
  for (const bad of [
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/x',
    '10.0.0.9-10.0.0.1',
    '10.0.0.1-::1',
    'a-b',
  ]) {
    assert.equal(typeof parseRange(bad), 'string', bad);
  }
});

test('subtracting ranges splits them', () => {
  assert.deepEqual(
    subtractRange(range('10.0.0.1-10.0.0.9'), range('10.0.0.5')).map((r) => r.text),
    ['10.0.0.1-10.0.0.4', '10.0.0.6-10.0.0.9'],
  );
  assert.deepEqual(subtractRange(range('10.0.0.1-10.0.0.9'), range('10.0.0.0/24')), []);
  assert.deepEqual(
    subtractRange(range('10.0.0.1'), range('10.0.0.2')).map((r) => r.text),
    ['10.0.0.1'],
  );
});

test('pool iteration skips exclusions and never materialises a large range', () => {
  const addrs = [
    ...poolAddresses([range('10.0.0.1-10.0.0.6'), range('10.0.1.1')], [range('10.0.0.2-10.0.0.3')]),
  ];
  assert.deepEqual(addrs, ['10.0.0.1', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.1.1']);
  const it = poolAddresses([range('2001:db8::/64')], [range('2001:db8::/127')]);
  assert.equal(it.next().value, '2001:db8::2');
});
