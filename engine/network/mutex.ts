// A promise-chain mutex: the network manager's critical sections await I/O
// (an exec, a file write), so plain single-threadedness is not enough to keep
// two allocations from reading the same state.
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn, fn);
    // The chain must continue whether fn failed or not; callers see the failure through `result`.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
