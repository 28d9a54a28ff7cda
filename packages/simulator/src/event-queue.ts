/** A min-heap of timed events; ties keep insertion order, so processing is deterministic. */
export class EventQueue<T> {
  private readonly heap: { t: number; seq: number; v: T }[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Adds `v` due at virtual time `t` (microseconds). */
  push(t: number, v: T): void {
    const h = this.heap;
    h.push({ t, seq: this.seq++, v });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Time of the next event, or Infinity. */
  peekTime(): number {
    return this.heap[0]?.t ?? Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the next event. */
  pop(): { t: number; v: T } | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return { t: top.t, v: top.v };
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.t < y.t || (x.t === y.t && x.seq < y.seq);
  }
}
