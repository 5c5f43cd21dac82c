import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { setTimeoutAfterArrivals } from '../../src/runtime/after-arrivals.js';

test('a timer that fell due runs after a datagram batch that was already waiting', async () => {
  const { port1, port2 } = new MessageChannel();
  const order: string[] = [];
  let done!: () => void;
  const both = new Promise<void>((resolve) => (done = resolve));
  const note = (what: string) => {
    order.push(what);
    if (order.length === 2) done();
  };
  port2.on('message', () => note('datagrams'));
  setTimeoutAfterArrivals(() => note('timer'), 1);
  port1.postMessage('batch');
  // Both are ready before the event loop next looks: the timer is due, the batch is queued.
  const until = Date.now() + 20;
  while (Date.now() < until);
  await both;
  port1.close();
  assert.deepEqual(order, ['datagrams', 'timer']);
});
