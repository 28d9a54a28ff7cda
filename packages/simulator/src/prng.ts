/**
 * A seeded pseudo-random generator (sfc32 seeded through splitmix32), so one seed always yields the
 * same workload, the same ids and the same log bytes. Math.random is never used by the simulator.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A uniform float in [min, max). */
  uniform(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** An exponential variate with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** A log-normal variate with the given median and spread (sigma of the underlying normal). */
  logNormal(median: number, sigma: number): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return median * Math.exp(sigma * z);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A random-looking RFC 4122 version 4 UUID (Celery task ids are uuid4). */
  uuid4(): string {
    const h = (n: number, len: number) => n.toString(16).padStart(len, '0');
    const a = this.u32();
    const b = this.u32();
    const c = this.u32();
    const d = this.u32();
    return (
      `${h(a, 8)}-${h(b >>> 16, 4)}-${h(((b & 0x0fff) | 0x4000) >>> 0, 4)}-` +
      `${h(((c >>> 16) & 0x3fff) | 0x8000, 4)}-${h(c & 0xffff, 4)}${h(d, 8)}`
    );
  }

  /** A UUID version 7 for a given millisecond time (Airflow 3 task_instance.id is uuid7). */
  uuid7(ms: number): string {
    const hex = Math.floor(ms).toString(16).padStart(12, '0');
    const r1 = this.u32();
    const r2 = this.u32();
    const r3 = this.u32();
    const h = (n: number, len: number) => n.toString(16).padStart(len, '0');
    return (
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${h(0x7000 | (r1 & 0x0fff), 4)}-` +
      `${h(0x8000 | ((r1 >>> 12) & 0x3fff), 4)}-${h(r2 & 0xffff, 4)}${h(r3, 8)}`
    );
  }
}
