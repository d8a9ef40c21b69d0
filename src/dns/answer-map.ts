/**
 * A bounded map for pre-encoded answers (the zone's wire cache, synth's memo).
 *
 * Eviction is random with a second chance: when the map is full, a slot is
 * drawn at random; a slot read since it was last looked at gets its mark
 * cleared and another draw, once, and the second drawn goes. Oldest
 * first (FIFO, plain CLOCK) misses on every query of a cyclic scan over more
 * keys than the map holds, which is what a load balancer or a monitoring sweep
 * over every service name does; random eviction keeps a share of them instead,
 * and the mark keeps names read again and again.
 *
 * The capacity is a number or a function read whenever the map is full, so an
 * owner can size it from data that changes (the registry); 0 keeps nothing.
 * Every operation is O(1).
 */

interface Slot<V> {
  key: string;
  value: V;
  /** Read since the last eviction draw that looked at it. */
  ref: boolean;
  /** Position in `slots`. */
  at: number;
}

/** How many marked slots a draw skips before it evicts anyway. */
const SECOND_CHANCES = 1;

export class AnswerMap<V> {
  private readonly map = new Map<string, Slot<V>>();
  private readonly slots: Slot<V>[] = [];

  /**
   * @param capacity entries kept, or a function giving it (asked only when the map is full)
   * @param random a source of numbers in [0, 1): tests pass a seeded one
   */
  constructor(
    private readonly capacity: number | (() => number),
    private readonly random: () => number = Math.random,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const s = this.map.get(key);
    if (!s) return undefined;
    s.ref = true;
    return s.value;
  }

  set(key: string, value: V): void {
    const old = this.map.get(key);
    if (old) {
      old.value = value;
      return;
    }
    const cap = typeof this.capacity === 'number' ? this.capacity : this.capacity();
    if (cap <= 0) return;
    while (this.slots.length >= cap) this.evict();
    const s: Slot<V> = { key, value, ref: false, at: this.slots.length };
    this.slots.push(s);
    this.map.set(key, s);
  }

  delete(key: string): void {
    const s = this.map.get(key);
    if (s) this.remove(s);
  }

  clear(): void {
    this.map.clear();
    this.slots.length = 0;
  }

  private evict(): void {
    const n = this.slots.length;
    let s = this.slots[Math.floor(this.random() * n)]!;
    for (let i = 0; i < SECOND_CHANCES && s.ref; i++) {
      s.ref = false;
      s = this.slots[Math.floor(this.random() * n)]!;
    }
    this.remove(s);
  }

  private remove(s: Slot<V>): void {
    this.map.delete(s.key);
    const last = this.slots.pop()!;
    if (last !== s) {
      this.slots[s.at] = last;
      last.at = s.at;
    }
  }
}
