/**
 * Writing to streams runs in slices of at most this long, and the next slice comes on a timer, a
 * millisecond later at the earliest, after whatever else arrived meanwhile: however many streams
 * there are, their writes take at most about a fifth of the process's time while requests and
 * commits wait, each step of a request (each database answer) waits at most one slice, and the
 * kernel gets thousands of socket writes spread out rather than in one burst. A client that does
 * not read still has a few MB of kernel socket buffer to fill, and filling thousands of them is
 * seconds of work that would otherwise come before everything else. The cost is latency: with
 * thousands of streams, a commit reaches the last of them a few hundred milliseconds later; and
 * since a hub reads again only once its streams have taken the last read, commits that arrive
 * meanwhile go out together, in fewer, larger writes.
 */
const SLICE_MS = 0.25;

export interface Runnable {
  run(): void;
}

/**
 * Stream work waiting its turn, first come first served, run for at most SLICE_MS at a time; the
 * rest waits for the next slice, on a timer, after whatever else (requests, commits, database
 * answers) arrived meanwhile.
 */
export class DeliveryScheduler {
  readonly #queue = new Set<Runnable>();
  #scheduled = false;
  #deadline = 0;

  schedule(item: Runnable): void {
    this.#queue.add(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(this.#run, 0);
    }
  }

  /** Whether the current slice has time left. */
  hasTime(): boolean {
    return performance.now() < this.#deadline;
  }

  unschedule(item: Runnable): void {
    this.#queue.delete(item);
  }

  readonly #run = () => {
    this.#scheduled = false;
    this.#deadline = performance.now() + SLICE_MS;
    for (const item of this.#queue) {
      this.#queue.delete(item);
      item.run();
      if (!this.hasTime()) break;
    }
    if (this.#queue.size > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setTimeout(this.#run, 0);
    }
  };
}
