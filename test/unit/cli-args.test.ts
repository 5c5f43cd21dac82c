import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveLogLevel, parseL2tpdArgs } from '../../src/cli/args.js';
import { parseL2tpctlArgs } from '../../src/cli/l2tpctl-args.js';

test('l2tpd: defaults and every flag', () => {
  assert.deepEqual(parseL2tpdArgs([]), {
    kind: 'run',
    foreground: false,
    configFile: '/etc/l2tpd/l2tpd.yaml',
    secretsFile: null,
    pidFile: null,
    controlPipe: null,
    listen: null,
    verbosity: 0,
    checkConfig: false,
  });
  assert.deepEqual(
    parseL2tpdArgs([
      '-D',
      '-c',
      'a.yaml',
      '-s',
      'sec',
      '-p',
      '/run/l2tpd.pid',
      '-C',
      '/run/ctl',
      '--listen',
      '192.0.2.1',
      '--listen',
      '[2001:db8::1]:1702',
      '-vv',
      '-v',
      '--check-config',
    ]),
    {
      kind: 'run',
      foreground: true,
      configFile: 'a.yaml',
      secretsFile: 'sec',
      pidFile: '/run/l2tpd.pid',
      controlPipe: '/run/ctl',
      listen: [
        { address: '192.0.2.1', family: 4, port: 1701 },
        { address: '2001:db8::1', family: 6, port: 1702 },
      ],
      verbosity: 3,
      checkConfig: true,
    },
  );
  assert.deepEqual(parseL2tpdArgs(['--version']), { kind: 'version' });
  assert.deepEqual(parseL2tpdArgs(['-h']), { kind: 'help' });
  assert.deepEqual(parseL2tpdArgs(['--help', '-D']), { kind: 'help' });
});

test('l2tpd: bad flags are errors, not crashes', () => {
  for (const argv of [
    ['-x'],
    ['-c'],
    ['stray'],
    ['--check-config=yes'],
    ['--listen', 'example.net'],
    ['--listen', '[192.0.2.1]'],
    ['--listen', '192.0.2.1:0'],
  ]) {
    assert.equal(parseL2tpdArgs(argv).kind, 'error', argv.join(' '));
  }
});

test('l2tpd import-xl2tpd: default and given files', () => {
  assert.deepEqual(parseL2tpdArgs(['import-xl2tpd']), {
    kind: 'import-xl2tpd',
    confFile: '/etc/xl2tpd/xl2tpd.conf',
    secretsFile: '/etc/xl2tpd/l2tp-secrets',
  });
  assert.deepEqual(parseL2tpdArgs(['import-xl2tpd', 'x.conf', 'y']), {
    kind: 'import-xl2tpd',
    confFile: 'x.conf',
    secretsFile: 'y',
  });
  assert.equal(parseL2tpdArgs(['import-xl2tpd', 'a', 'b', 'c']).kind, 'error');
  assert.equal(parseL2tpdArgs(['import-xl2tpd', '--bogus']).kind, 'error');
});

test('-v lowers the log level one step each', () => {
  assert.equal(effectiveLogLevel('info', 0), 'info');
  assert.equal(effectiveLogLevel('info', 1), 'debug');
  assert.equal(effectiveLogLevel('warn', 5), 'trace');
  assert.equal(effectiveLogLevel('silent', 2), 'silent');
});

test('l2tpctl: commands and options', () => {
  const run = (argv: string[]) => {
    const r = parseL2tpctlArgs(argv);
    assert.equal(r.kind, 'run', JSON.stringify(r));
    return r.kind === 'run' ? r : assert.fail();
  };
  assert.deepEqual(run(['status']), {
    kind: 'run',
    socket: '/run/l2tpd/l2tpctl.sock',
    json: false,
    command: { cmd: 'status', args: {} },
  });
  assert.equal(run(['--socket', '/tmp/s', '--json', 'stats']).socket, '/tmp/s');
  assert.equal(run(['stats', '--json']).json, true);
  assert.deepEqual(run(['connect', 'isp']).command, { cmd: 'connect', args: { lac: 'isp' } });
  assert.deepEqual(run(['disconnect', '42']).command, { cmd: 'disconnect', args: { tunnel: 42 } });
  assert.deepEqual(run(['disconnect', 'isp']).command, { cmd: 'disconnect', args: { lac: 'isp' } });
  assert.deepEqual(run(['hangup', '7']).command, { cmd: 'hangup', args: { session: 7 } });
  assert.deepEqual(run(['hangup', '42/7']).command, {
    cmd: 'hangup',
    args: { session: 7, tunnel: 42 },
  });
  assert.deepEqual(run(['hangup', '--user', 'alice']).command, {
    cmd: 'hangup',
    args: { user: 'alice' },
  });
  assert.deepEqual(run(['hangup', '--address', '10.0.0.2']).command, {
    cmd: 'hangup',
    args: { address: '10.0.0.2' },
  });
  assert.deepEqual(run(['hangup', '--iface', 'ppp3']).command, {
    cmd: 'hangup',
    args: { iface: 'ppp3' },
  });
  assert.deepEqual(run(['drain']).command, { cmd: 'drain', args: {} });
  assert.deepEqual(run(['resume']).command, { cmd: 'resume', args: {} });
  assert.deepEqual(run(['reload']).command, { cmd: 'reload', args: {} });
  assert.deepEqual(run(['fault', '42', 'actor-throw']).command, {
    cmd: 'fault',
    args: { tunnel: 42, kind: 'actor-throw' },
  });
});

test('l2tpctl: usage errors', () => {
  for (const argv of [
    [],
    ['frobnicate'],
    ['connect'],
    ['hangup', 'x'],
    ['hangup', '70000'],
    ['hangup', '0'],
    ['hangup', '7', '--user', 'alice'],
    ['hangup', '--user', 'alice', '--iface', 'ppp0'],
    ['status', '--iface', 'ppp0'],
    ['stats', '--user', 'alice'],
    ['drain', 'now'],
    ['status', 'extra'],
    ['--nope', 'status'],
    ['connect', 'a', 'b'],
    ['fault', '42'],
    ['fault', '42', 'segfault'],
    ['fault', 'x', 'worker-exit'],
    ['fault', '42', 'worker-exit', 'more'],
  ]) {
    assert.equal(parseL2tpctlArgs(argv).kind, 'error', argv.join(' '));
  }
  assert.deepEqual(parseL2tpctlArgs(['--help']), { kind: 'help' });
});
