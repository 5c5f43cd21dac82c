// Preloaded into l2tpd by tests (NODE_OPTIONS="--expose-gc --require=.../gc-probe.cjs"), in
// the main thread and every worker thread: when the number in $L2TPD_GC_PROBE_DIR/request
// changes, run a full GC and write this thread's heap figures to
// $L2TPD_GC_PROBE_DIR/heap-PID-THREAD.json. It lets a leak test compare memory after a
// forced collection instead of whatever garbage happens to be waiting. Test-only: the
// daemon itself never loads it.
// CommonJS on purpose: Node 20 runs --require preloads in worker threads, not --import ones.
/* global require, process, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { getHeapStatistics } = require('node:v8');
const { threadId } = require('node:worker_threads');

const dir = process.env.L2TPD_GC_PROBE_DIR;
if (dir && typeof globalThis.gc === 'function') {
  let last = '';
  const poll = () => {
    let request;
    try {
      request = readFileSync(`${dir}/request`, 'utf8');
    } catch {
      return;
    }
    if (request === last) return;
    last = request;
    globalThis.gc();
    globalThis.gc();
    const h = getHeapStatistics();
    const out = {
      request,
      used: h.used_heap_size,
      total: h.total_heap_size,
      external: h.external_memory,
      malloced: h.malloced_memory,
    };
    writeFileSync(`${dir}/heap-${process.pid}-${threadId}.json`, JSON.stringify(out));
  };
  setInterval(poll, 200).unref();
}
