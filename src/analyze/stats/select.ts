/**
 * Order statistics in O(n), in place on a Float64Array: Floyd-Rivest selection (a recursive sample brackets
 * the k-th element first: ~1.5 n comparisons against ~3 n for quickselect; the sampled Theil-Sen spends most
 * of its time here), falling back to quickselect (median-of-three, Hoare partition) on small ranges.
 */

/** Reorders `a[lo..hi]` so that a[k] holds the k-th smallest (0-based), smaller ones left of it, and returns it. */
export function selectInPlace(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  if (k < lo || k > hi) throw new RangeError(`select: k=${k} outside [${lo}, ${hi}]`);
  floydRivest(a, k, lo, hi);
  return a[k] as number;
}

/** Floyd and Rivest (1975), algorithm SELECT, as in the widely used form of V. Agafonkin's quickselect. */
function floydRivest(a: Float64Array, k: number, left: number, right: number): void {
  while (right - left > 600) {
    const n = right - left + 1;
    const i = k - left + 1;
    const z = Math.log(n);
    const s = 0.5 * Math.exp((2 * z) / 3);
    const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (i - n / 2 < 0 ? -1 : 1);
    const newLeft = Math.max(left, Math.floor(k - (i * s) / n + sd));
    const newRight = Math.min(right, Math.floor(k + ((n - i) * s) / n + sd));
    floydRivest(a, k, newLeft, newRight);
    const t = a[k] as number;
    let l = left;
    let r = right;
    swap(a, left, k);
    if ((a[right] as number) > t) swap(a, left, right);
    while (l < r) {
      swap(a, l, r);
      l++;
      r--;
      while ((a[l] as number) < t) l++;
      while ((a[r] as number) > t) r--;
    }
    if (a[left] === t) swap(a, left, r);
    else { r++; swap(a, r, right); }
    if (r <= k) left = r + 1;
    if (k <= r) right = r - 1;
  }
  if (right > left) quickselect(a, k, left, right);
}

function swap(a: Float64Array, i: number, j: number): void {
  const x = a[i] as number;
  a[i] = a[j] as number;
  a[j] = x;
}

function quickselect(a: Float64Array, k: number, lo: number, hi: number): number {
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
