// Leases protect content that an operation in flight is about to use from
// garbage collection (containerd's leases, in memory): a pull leases the
// blobs and chain IDs of its image before it records the image, so a
// concurrent rmi of another image sharing a layer cannot delete that layer
// between "Already exists" and the record that would have kept it alive.
// In memory only: the service's operations run in one process.

export class Leases {
  readonly #counts = new Map<string, number>();

  /** Leases every item until the returned function is called (idempotent). */
  acquire(items: Iterable<string>): () => void {
    const held = [...new Set(items)];
    for (const item of held) this.#counts.set(item, (this.#counts.get(item) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const item of held) {
        const n = (this.#counts.get(item) ?? 1) - 1;
        if (n <= 0) this.#counts.delete(item);
        else this.#counts.set(item, n);
      }
    };
  }

  has(item: string): boolean {
    return this.#counts.has(item);
  }
}
