// The tunnel driver: one timer at the earliest deadline of the tunnel, the data paths and the
// host; datagrams routed by header. Driven by a fake clock, so every firing is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TunnelDriver, type DrivenData } from '../../src/actor/tunnel-driver.js';
import type { L2tpHeader } from '../../src/protocol/header.js';
import { reliableConfig } from '../../src/control/reliable.js';
import { testTunnelConfig } from '../support/sim-network.js';

class FakeClock {
  t = 0;
  timers = new Map<number, { fn: () => void; at: number }>();
  private next = 1;
  now = (): number => this.t;
  setTimer = (fn: () => void, ms: number): number => {
    this.timers.set(this.next, { fn, at: this.t + ms });
    return this.next++;
  };
  clearTimer = (id: number): void => {
    this.timers.delete(id);
  };
  /** The one armed timer's time (the driver never holds two). */
  armedAt(): number | undefined {
    assert.ok(this.timers.size <= 1, 'at most one timer armed');
    return [...this.timers.values()][0]?.at;
  }
  /** Advance to the armed timer and fire it. */
  fire(): void {
    const [id, timer] = [...this.timers.entries()][0]!;
    this.timers.delete(id);
    this.t = timer.at;
    timer.fn();
  }
}

class FakeData implements DrivenData {
  received = 0;
  fired: number[] = [];
  deadline = Infinity;
  receive(_now: number, _h: L2tpHeader, _d: Uint8Array): void {
    this.received++;
  }
  nextDeadline(): number {
    return this.deadline;
  }
  onTimer(now: number): void {
    this.fired.push(now);
    this.deadline = Infinity;
  }
}

/** An L2TP data message (T=0, version 2) for tunnel 100, session `sid`. */
function dataFor(sid: number): Uint8Array {
  return Uint8Array.from([0x00, 0x02, 0x00, 100, sid >> 8, sid & 0xff, 0xff, 0x03, 0x00, 0x21]);
}

function lacDriver(clock: FakeClock, hooks = {}) {
  const sent: Uint8Array[] = [];
  const config = testTunnelConfig({
    role: 'lac',
    reliable: reliableConfig({ initialTimeoutMs: 1000, adaptive: false }),
  });
  const driver = new TunnelDriver<FakeData, number>(
    config,
    { sendControl: (d) => sent.push(d), event: () => undefined },
    clock,
    hooks,
  );
  return { driver, sent };
}

test('the one timer runs the tunnel: an unanswered SCCRQ is sent again when it fires', () => {
  const clock = new FakeClock();
  const { driver, sent } = lacDriver(clock);
  driver.start();
  assert.equal(sent.length, 1);
  assert.equal(clock.armedAt(), 1000);
  clock.fire();
  assert.equal(sent.length, 2, 'retransmitted at the deadline');
  assert.ok(clock.armedAt()! > 1000, 're-armed for the next retransmission');
});

test('a data path with a deadline gets the timer first; detached, it gets nothing', () => {
  const clock = new FakeClock();
  const { driver } = lacDriver(clock);
  driver.start();
  const data = new FakeData();
  driver.attach(5, data);
  data.deadline = 200;
  assert.equal(driver.receive(dataFor(5)), 'data');
  assert.equal(data.received, 1);
  assert.equal(clock.armedAt(), 200, 'armed for the reorder gap, before the retransmission');
  clock.fire();
  assert.deepEqual(data.fired, [200]);
  assert.equal(clock.armedAt(), 1000, 'back to the tunnel deadline');

  data.deadline = 500;
  driver.receive(dataFor(5));
  assert.equal(driver.detach(5), data);
  driver.schedule();
  assert.equal(clock.armedAt(), 1000, 'a detached path no longer counts');
  assert.equal(driver.receive(dataFor(5)), 'unknown-session');
  assert.equal(driver.receive(Uint8Array.from([0xff])), 'bad-header');
});

test("the host's own deadline fires the timer and runs its expiry; stop() disarms for good", () => {
  const clock = new FakeClock();
  let own = 300;
  const expired: number[] = [];
  const { driver } = lacDriver(clock, {
    deadline: () => own,
    expire: (now: number) => {
      expired.push(now);
      own = Infinity;
    },
  });
  driver.start();
  assert.equal(clock.armedAt(), 300);
  clock.fire();
  assert.deepEqual(expired, [300]);
  assert.equal(clock.armedAt(), 1000);
  driver.stop();
  assert.equal(clock.armedAt(), undefined);
  driver.placeCall('incoming');
  assert.equal(clock.armedAt(), undefined, 'nothing armed after stop()');
});
