// The engine's one in-process lock. Critical sections here await I/O (an
// exec, a file write), so single-threadedness alone does not keep two callers
// from interleaving. A KeyedMutex runs callbacks for the same key one after
// another, in call order (two pulls of one reference, two operations on one
// container or one stack); different keys run concurrently. Locks across
// processes are engine/sys/flock.ts.

export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // The last waiter cleans up, so the map does not grow with every key ever used.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Resolves once no key is held or waited for, callers that queue meanwhile included (a daemon's graceful stop). */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.allSettled([...this.#tails.values()]);
  }

  /** Whether anyone holds or waits for key (tests; callers never need to ask before run()). */
  held(key: string): boolean {
    return this.#tails.has(key);
  }
}

/** A KeyedMutex with a single key: for state that is one thing (the network table, the IPAM file). */
export class Mutex {
  readonly #inner = new KeyedMutex();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.#inner.run("", fn);
  }
}
