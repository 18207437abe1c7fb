/** Order statistics in O(n): quickselect (median-of-three, Hoare partition) on a Float64Array, in place. */

/** Reorders `a[lo..hi]` so that a[k] holds the k-th smallest (0-based) and returns it. */
export function selectInPlace(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  if (k < lo || k > hi) throw new RangeError(`select: k=${k} outside [${lo}, ${hi}]`);
  while (hi > lo) {
    if (hi - lo < 16) {
      for (let i = lo + 1; i <= hi; i++) {
        const x = a[i] as number;
        let j = i - 1;
        while (j >= lo && (a[j] as number) > x) {
          a[j + 1] = a[j] as number;
          j--;
        }
        a[j + 1] = x;
      }
      return a[k] as number;
    }
    const mid = (lo + hi) >>> 1;
    const x = a[lo] as number;
    const y = a[mid] as number;
    const z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const tmp = a[i] as number;
        a[i] = a[j] as number;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

/** Quantile q in [0, 1] by linear interpolation between order statistics; does not modify `values`. */
export function quantile(values: Float64Array, q: number): number {
  const a = values.slice();
  return quantileInPlace(a, q);
}

export function quantileInPlace(a: Float64Array, q: number): number {
  const n = a.length;
  if (n === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const k = Math.floor(pos);
  const lo = selectInPlace(a, k);
  if (k + 1 >= n || pos === k) return lo;
  // After selection every element right of k is >= a[k]; the next order statistic is their minimum.
  let next = Infinity;
  for (let i = k + 1; i < n; i++) if ((a[i] as number) < next) next = a[i] as number;
  return lo + (pos - k) * (next - lo);
}

export function median(values: Float64Array): number {
  return quantile(values, 0.5);
}
