import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { ManualClock } from '../clock.js';
import { until } from '../testing/etcd.js';
import { LinkTiming } from './etcd-client.js';
import { EtcdContact } from './etcd-contact.js';

type Answer = () => Promise<{ leader: string }>;

/** Members a, b, c whose Status answers the test sets; counts the clients dialled per member. */
function fakes(answers: Answer[]) {
  const dials = answers.map(() => 0);
  const contacts: number[] = [];
  let rounds = 0;
  const c = new EtcdContact({
    endpoints: ['a:2379', 'b:2379', 'c:2379'].slice(0, answers.length),
    clock: new ManualClock(),
    intervalMs: 10,
    maxTimeoutMs: 50,
    timing: new LinkTiming(),
    dial: (i) => {
      dials[i]!++;
      return { maintenance: { status: () => answers[i]!() }, close: () => undefined } as unknown as Etcd3;
    },
    onContact: (mono) => contacts.push(mono),
    onRound: () => rounds++,
  });
  return { c, dials, contacts, rounds: () => rounds };
}

const leader: Answer = async () => ({ leader: '42' });
const noLeader: Answer = async () => ({ leader: '0' });
const refused: Answer = async () => Promise.reject(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.0.0.1:2379'));
const silent: Answer = () => new Promise(() => undefined);

describe('EtcdContact: what the probes tell', () => {
  it('a member with a leader: contact, and nothing to explain', async () => {
    const f = fakes([refused, leader]);
    f.c.start();
    try {
      await until('contact', () => f.contacts.length > 0, 5000);
      assert.equal(f.c.explain(), undefined);
    } finally {
      f.c.stop();
    }
  });

  it('members that answer without a leader: no quorum, naming who answers and who cannot be reached', async () => {
    const f = fakes([noLeader, noLeader, refused]);
    f.c.start();
    try {
      await until('every member probed', () => f.c.members().every((m) => m.error !== 'not probed yet'), 5000);
      assert.equal(f.c.explain(), 'the etcd cluster has no quorum: etcd members a:2379, b:2379 answer but have no leader; this node cannot reach c:2379 (connection refused)');
      assert.equal(f.contacts.length, 0);
    } finally {
      f.c.stop();
    }
  });

  it('no member answers: this node cannot reach etcd, with every member tried', async () => {
    const f = fakes([refused, silent]);
    f.c.start();
    try {
      await until('both failed', () => f.c.members().every((m) => !m.reachable && m.error !== 'not probed yet'), 5000);
      assert.equal(f.c.explain(), 'this node cannot reach etcd: tried a:2379 (connection refused), b:2379 (no answer within 50 ms)');
    } finally {
      f.c.stop();
    }
  });

  it('a member that does not answer is dialled anew every interval; one that answers keeps its connection', async () => {
    let up = false;
    const f = fakes([() => (up ? leader() : silent())]);
    f.c.start();
    try {
      await until('several new connections while it is silent', () => f.dials[0]! >= 3, 5000);
      up = true;
      await until('contact', () => f.contacts.length > 0, 5000);
      const dialled = f.dials[0]!;
      const rounds = f.rounds();
      await until('more probes', () => f.rounds() >= rounds + 5, 5000);
      assert.ok(f.dials[0]! <= dialled + 5, 'answered probes reuse the connection (attempts already under way may still finish)');
      assert.equal(f.c.explain(), undefined);
    } finally {
      f.c.stop();
    }
  });
});
