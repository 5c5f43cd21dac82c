import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  seqAdd,
  seqDiff,
  seqIsOld,
  seqLess,
  seqLessOrEqual,
  seqNext,
} from '../../src/control/seq.js';

test('seqDiff maps the modular distance to -32768..32767', () => {
  assert.equal(seqDiff(5, 3), 2);
  assert.equal(seqDiff(3, 5), -2);
  assert.equal(seqDiff(0, 65535), 1);
  assert.equal(seqDiff(65535, 0), -1);
  assert.equal(seqDiff(32767, 0), 32767);
  assert.equal(seqDiff(32768, 0), -32768);
  assert.equal(seqDiff(7, 7), 0);
});

test('seqNext and seqAdd wrap 65535 to 0', () => {
  assert.equal(seqNext(65535), 0);
  assert.equal(seqNext(0), 1);
  assert.equal(seqAdd(65534, 3), 1);
  assert.equal(seqAdd(1, -2), 65535);
});

test('seqLess orders across the wrap', () => {
  assert.equal(seqLess(65535, 0), true);
  assert.equal(seqLess(0, 65535), false);
  assert.equal(seqLess(4, 4), false);
  assert.equal(seqLessOrEqual(4, 4), true);
  assert.equal(seqLessOrEqual(65000, 10), true);
});

test('RFC 2661 §5.8 worked example: with last = 15, 0..15 and 32784..65535 are old', () => {
  const nrExpected = 16;
  for (let ns = 0; ns < 65536; ns++) {
    const old = ns <= 15 || ns >= 32784;
    assert.equal(seqIsOld(ns, nrExpected), old, `ns ${ns}`);
  }
});

test('property: seqAdd(b, seqDiff(a, b)) === a, and seqDiff is antisymmetric off the antipode', () => {
  const seq = fc.integer({ min: 0, max: 65535 });
  fc.assert(
    fc.property(seq, seq, (a, b) => {
      assert.equal(seqAdd(b, seqDiff(a, b)), a);
      const d = seqDiff(a, b);
      assert.ok(d >= -32768 && d <= 32767);
      if (d !== -32768) assert.equal(seqDiff(b, a) + d, 0);
      assert.equal(seqLess(a, b), d < 0);
    }),
  );
});
