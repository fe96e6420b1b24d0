/**
 * Seeded randomness for generated data (benchmarks, the demo attack set): mulberry32, a small
 * 32-bit PRNG (Tommy Ettinger's, public domain). Not for anything secret; the point is that a
 * seed always gives the same data.
 */

/** Uniform unsigned 32-bit integers from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform floats in [0, 1) from a 32-bit seed (the same stream as `mulberry32`, scaled). */
export function uniform(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 2 ** 32;
}

/** Draws keys of `weights` (key → relative weight, whole numbers) with `next` (uint32). */
export function weightedPicker(weights: Record<number, number>, next: () => number): () => number {
  const table: number[] = [];
  for (const [key, w] of Object.entries(weights))
    for (let i = 0; i < w; i++) table.push(Number(key));
  if (table.length === 0) throw new RangeError('weightedPicker needs a positive weight');
  return () => table[next() % table.length] as number;
}
