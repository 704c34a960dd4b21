// Async locks for one process. A KeyedMutex runs callbacks for the same key
// one after another (two pulls of one reference, two writes of one record);
// different keys run concurrently. A Semaphore bounds how many run at once
// (max-concurrent-downloads, shared by every pull of the service).

export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
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
}

export class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`semaphore size must be a positive integer, got ${size}`);
    this.#free = size;
  }

  /** Whether acquire() would have to wait. */
  get busy(): boolean {
    return this.#free === 0;
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // The slot passes straight to the next waiter; the count only changes when nobody waits.
      if (next) next();
      else this.#free++;
    };
  }
}
