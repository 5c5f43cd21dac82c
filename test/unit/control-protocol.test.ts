import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LineSplitter,
  encodeLine,
  errorResponse,
  formatPipeReply,
  parsePipeLine,
  parseRequest,
  parseResponse,
} from '../../src/ops/control-protocol.js';

test('requests parse into typed commands', () => {
  assert.deepEqual(parseRequest('{"id":1,"cmd":"status"}'), {
    ok: true,
    request: { id: 1, cmd: 'status', args: {} },
  });
  assert.deepEqual(parseRequest('{"id":2,"cmd":"connect","args":{"lac":"isp"}}'), {
    ok: true,
    request: { id: 2, cmd: 'connect', args: { lac: 'isp' } },
  });
  assert.deepEqual(parseRequest('{"id":3,"cmd":"hangup","args":{"session":9,"tunnel":4}}'), {
    ok: true,
    request: { id: 3, cmd: 'hangup', args: { session: 9, tunnel: 4 } },
  });
  assert.deepEqual(parseRequest('{"id":4,"cmd":"disconnect","args":{"tunnel":5}}'), {
    ok: true,
    request: { id: 4, cmd: 'disconnect', args: { tunnel: 5 } },
  });
  assert.deepEqual(
    parseRequest('{"id":5,"cmd":"fault","args":{"tunnel":6,"kind":"worker-exit"}}'),
    {
      ok: true,
      request: { id: 5, cmd: 'fault', args: { tunnel: 6, kind: 'worker-exit' } },
    },
  );
});

test('bad requests yield the error response to send', () => {
  const code = (line: string) => {
    const r = parseRequest(line);
    assert.ok(!r.ok, line);
    return r.ok ? '' : r.response.ok ? '' : `${r.response.id}:${r.response.error.code}`;
  };
  assert.equal(code('not json'), '0:BAD_REQUEST');
  assert.equal(code('[1]'), '0:BAD_REQUEST');
  assert.equal(code('{"cmd":"status"}'), '0:BAD_REQUEST');
  assert.equal(code('{"id":7,"cmd":"explode"}'), '7:UNKNOWN_COMMAND');
  assert.equal(code('{"id":7,"cmd":"connect","args":{}}'), '7:BAD_REQUEST');
  assert.equal(code('{"id":7,"cmd":"hangup","args":{"session":0}}'), '7:BAD_REQUEST');
  assert.equal(code('{"id":7,"cmd":"hangup","args":{"user":""}}'), '7:BAD_REQUEST');
  assert.deepEqual(parseRequest('{"id":8,"cmd":"hangup","args":{"iface":"ppp2"}}'), {
    ok: true,
    request: { id: 8, cmd: 'hangup', args: { iface: 'ppp2' } },
  });
  assert.deepEqual(parseRequest('{"id":9,"cmd":"drain"}'), {
    ok: true,
    request: { id: 9, cmd: 'drain', args: {} },
  });
  assert.equal(code('{"id":7,"cmd":"hangup","args":{"session":1,"tunnel":"x"}}'), '7:BAD_REQUEST');
  assert.equal(code('{"id":7,"cmd":"disconnect","args":{"tunnel":65536}}'), '7:BAD_REQUEST');
  assert.equal(code('{"id":7,"cmd":"status","args":[]}'), '7:BAD_REQUEST');
  assert.equal(code('{"id":7,"cmd":"fault","args":{"tunnel":1}}'), '7:BAD_REQUEST');
  assert.equal(
    code('{"id":7,"cmd":"fault","args":{"tunnel":1,"kind":"segfault"}}'),
    '7:BAD_REQUEST',
  );
  assert.equal(
    code('{"id":7,"cmd":"fault","args":{"tunnel":0,"kind":"actor-throw"}}'),
    '7:BAD_REQUEST',
  );
});

test('responses round-trip as one line each', () => {
  const ok = { id: 5, ok: true as const, result: { tunnels: [] } };
  const line = encodeLine(ok);
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  assert.deepEqual(parseResponse(line), ok);
  const bad = errorResponse(6, 'NOT_FOUND', "no LAC section 'x'");
  assert.deepEqual(parseResponse(encodeLine(bad)), bad);
  assert.equal(parseResponse('{"id":1}'), null);
  assert.equal(parseResponse('{"id":1,"ok":false,"error":{}}'), null);
  assert.equal(parseResponse('garbage'), null);
});

test('line splitter: split chunks, CRLF, and a flood of one endless line', () => {
  const s = new LineSplitter(16);
  assert.deepEqual(s.push('{"a"'), []);
  assert.deepEqual(s.push(':1}\r\n\n{"b":2}\n{"c'), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(s.push('":3}\n'), ['{"c":3}']);
  assert.equal(s.push('x'.repeat(17)), null);
});

test('legacy pipe commands as xl2tpd has them', () => {
  assert.deepEqual(parsePipeLine('t 192.0.2.1\n'), {
    replyFile: null,
    letter: 't',
    result: { ok: true, command: { cmd: 'tunnel', args: { host: '192.0.2.1', port: 1701 } } },
  });
  assert.deepEqual(parsePipeLine('c isp')?.result, {
    ok: true,
    command: { cmd: 'connect', args: { lac: 'isp' } },
  });
  assert.deepEqual(parsePipeLine('d isp')?.result, {
    ok: true,
    command: { cmd: 'disconnect', args: { lac: 'isp' } },
  });
  assert.deepEqual(parsePipeLine('d 12')?.result, {
    ok: true,
    command: { cmd: 'disconnect', args: { tunnel: 12 } },
  });
  assert.deepEqual(parsePipeLine('h 3')?.result, {
    ok: true,
    command: { cmd: 'hangup', args: { session: 3 } },
  });
  assert.deepEqual(parsePipeLine('s')?.result, { ok: true, command: { cmd: 'status', args: {} } });
});

test('legacy pipe: @reply-file prefix, unsupported and bad commands', () => {
  const r = parsePipeLine('@/tmp/reply.txt c isp');
  assert.equal(r?.replyFile, '/tmp/reply.txt');
  assert.equal(r?.letter, 'c');
  assert.equal(parsePipeLine('@/tmp/reply.txt'), null, 'prefix without a command is ignored');
  assert.equal(parsePipeLine('@relative c isp'), null, 'only absolute reply paths');
  assert.equal(parsePipeLine('   '), null);
  for (const line of [
    'a isp lns=1.2.3.4',
    'r isp',
    'o isp 123',
    'x',
    'h',
    'h abc',
    't',
    'c isp user pass',
  ]) {
    const p = parsePipeLine(line);
    assert.ok(p !== null && !p.result.ok, line);
  }
  assert.equal(formatPipeReply(true), '00 OK\n');
  assert.equal(formatPipeReply(false, "No such tunnel 'x'"), "01 No such tunnel 'x'\n");
});
