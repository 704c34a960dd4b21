// A counting semaphore for one process: bounds how many callers run at once
// (max-concurrent-downloads, shared by every pull of the image service).

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
