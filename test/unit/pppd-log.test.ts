import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pppdLogIdentity, pppdNetworkUp } from '../../src/ppp/pppd-log.js';

test('pppd log lines: the interface and the authenticated peer (pppd 2.4.9 and 2.5 wording)', () => {
  assert.deepEqual(pppdLogIdentity('Using interface ppp0'), { iface: 'ppp0' });
  assert.deepEqual(pppdLogIdentity('Connect: ppp12 <--> /dev/pts/3'), { iface: 'ppp12' });
  assert.deepEqual(pppdLogIdentity('PAP peer authentication succeeded for alice'), {
    user: 'alice',
  });
  assert.deepEqual(pppdLogIdentity('CHAP peer authentication succeeded for bob@isp'), {
    user: 'bob@isp',
  });
  assert.deepEqual(pppdLogIdentity('MS-CHAP-v2 peer authentication succeeded for carol'), {
    user: 'carol',
  });
  // native/l2tpd-peer-name.so, preloaded into RADIUS sessions' pppd 2.4.9: any protocol.
  assert.deepEqual(pppdLogIdentity('Peer dave@isp authenticated'), { user: 'dave@isp' });
  assert.deepEqual(pppdLogIdentity('Peer a\\"b authenticated'), { user: 'a"b' });
  // %q escapes quotes and backslashes: undone.
  assert.deepEqual(pppdLogIdentity('PAP peer authentication succeeded for a\\"b\\\\c'), {
    user: 'a"b\\c',
  });
});

test('pppd log lines that name no identity', () => {
  for (const line of [
    'CHAP authentication succeeded',
    'PAP authentication succeeded',
    'PAP peer authentication failed for mallory',
    'Peer mallory failed CHAP authentication',
    'peer from calling number 5551234 authorized',
    'local  IP address 192.0.2.1',
    'Using interface',
    '',
  ]) {
    assert.equal(pppdLogIdentity(line), undefined, line);
  }
});

test('the remote address IPCP settled on (RADIUS may have chosen it); the local one is ignored', () => {
  assert.deepEqual(pppdLogIdentity('remote IP address 10.0.0.9'), { remoteAddress: '10.0.0.9' });
  assert.equal(pppdLogIdentity('local  IP address 10.0.0.1'), undefined);
});

test('the link is up when IPCP or IPv6CP is: not when pppd merely starts or authenticates', () => {
  assert.equal(pppdNetworkUp('remote IP address 10.0.0.9'), true);
  assert.equal(pppdNetworkUp('remote LL address fe80::1'), true);
  for (const line of [
    'Using interface ppp0',
    'PAP peer authentication succeeded for a',
    'local  IP address 10.0.0.1',
  ]) {
    assert.equal(pppdNetworkUp(line), false, line);
  }
});
