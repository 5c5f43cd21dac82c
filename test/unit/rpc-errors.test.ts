import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { L2tpError, hasErrorCode } from '../../src/protocol/errors.js';
import { keepRpcErrorCodes } from '../../src/runtime/rpc-errors.js';

// The control socket tells "no such tunnel" (NOT_FOUND) from an actor's failure (INTERNAL)
// by the code that crossed the worker's RPC port; comlink alone dropped it.
test('an L2tpError thrown across the comlink port keeps its code; other throws stay as they were', async () => {
  keepRpcErrorCodes();
  const { port1, port2 } = new MessageChannel();
  const api = {
    missing(): never {
      throw new L2tpError('ERR_L2TP_NO_TUNNEL', 'no tunnel 7 on worker 0');
    },
    broken(): never {
      throw new TypeError('actor failed');
    },
    odd(): never {
      throw 'a string';
    },
  };
  Comlink.expose(api, port1 as unknown as Comlink.Endpoint);
  const remote = Comlink.wrap<typeof api>(port2 as unknown as Comlink.Endpoint);
  try {
    await assert.rejects(
      () => remote.missing(),
      (err: unknown) => {
        assert.ok(hasErrorCode(err, 'ERR_L2TP_NO_TUNNEL'));
        assert.equal((err as Error).message, 'no tunnel 7 on worker 0');
        return true;
      },
    );
    await assert.rejects(
      () => remote.broken(),
      (err: unknown) => {
        assert.ok(err instanceof Error && !(err instanceof L2tpError));
        assert.equal(err.name, 'TypeError');
        assert.equal(err.message, 'actor failed');
        return true;
      },
    );
    await assert.rejects(
      () => remote.odd(),
      (err: unknown) => err === 'a string',
    );
  } finally {
    port1.close();
    port2.close();
  }
});
