/**
 * Conditional writes for the etcd backend. Every write is decided against the
 * state etcd holds, not the mirror: `casLoop` guesses the key's state from the
 * mirror, lets `step` plan the write for it, and commits the plan in one etcd
 * transaction that only applies if the key's mod_revision is still the
 * guessed one; otherwise the transaction returns the key as it is, and the
 * plan is made again for that. A refusal (`reject`) based on the mirror's
 * guess is confirmed by a read before it is thrown, so a lagging mirror never
 * turns into a wrong 404 or 409.
 */
import type { Etcd3, IKeyValue, IRequestOp } from 'etcd3';
import { SkyError } from '../errors.js';
import { text } from './etcd-codec.js';

/** A key's state: mod_revision 0 and no value when absent. */
export interface KeyState {
  mod: number;
  raw: string | undefined;
  lease: string;
}

export const ABSENT: KeyState = { mod: 0, raw: undefined, lease: '0' };

export function keyState(kv: IKeyValue | undefined): KeyState {
  return kv ? { mod: Number(kv.mod_revision), raw: text(kv.value), lease: kv.lease || '0' } : ABSENT;
}

export type Plan<T> = { reject: SkyError } | { ops: IRequestOp[]; result: T; value?: string };

export interface CasResult<T> {
  result: T;
  /** Revision the write committed at (the mirror applies it later). */
  revision: number;
}

/** Runs etcd calls under the registry's deadline and error mapping. */
export type Call = <R>(p: Promise<R>) => Promise<R>;

const MAX_ROUNDS = 8;

// etcd's enum values (rpc.proto): CompareTarget.MOD = 2, CompareResult.EQUAL = 0.
const MOD = 2;
const EQUAL = 0;

export async function casLoop<T>(
  client: Etcd3,
  call: Call,
  key: string,
  guess: KeyState,
  step: (cur: KeyState) => Plan<T> | Promise<Plan<T>>,
): Promise<CasResult<T>> {
  const k = Buffer.from(key);
  let cur = guess;
  let confirmed = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const plan = await step(cur);
    if ('reject' in plan) {
      if (confirmed) throw plan.reject;
      const res = await call(client.kv.range({ key: k }));
      cur = keyState(res.kvs[0]);
      confirmed = true;
      continue;
    }
    const res = await call(
      client.kv.txn({
        compare: [{ key: k, target: MOD, result: EQUAL, mod_revision: cur.mod }],
        success: plan.ops,
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (res.succeeded) return { result: plan.result, revision: Number(res.header.revision) };
    cur = keyState(res.responses[0]?.response_range?.kvs[0]);
    confirmed = true;
    // An earlier try that failed ambiguously (connection lost after sending) may have landed.
    if (plan.value !== undefined && cur.raw === plan.value) return { result: plan.result, revision: cur.mod };
  }
  throw new SkyError('SKY_ERR_REGISTRY_UNAVAILABLE', `too many concurrent writes to ${key}; try again`);
}

/** Serialises the writes of this node per key, so they reach etcd in the order they were made. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const p = prev.then(fn, fn);
    const tail = p.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return p;
  }
}
