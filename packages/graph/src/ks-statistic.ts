/**
 * The two-sample Kolmogorov–Smirnov statistic: the largest distance between the empirical distribution
 * functions of `a` and `b` (0: same distribution of values, 1: no overlap). Non-finite values are ignored.
 * Sorts copies: O((n + m) log(n + m)). Returns `null` when either sample is empty.
 *
 * @example
 * ksStatistic([1, 2, 3], [1, 2, 3]); // 0
 * ksStatistic([1, 2], [3, 4]); // 1
 */
export function ksStatistic(a: readonly number[], b: readonly number[]): number | null {
  const x = a.filter(Number.isFinite).sort((p, q) => p - q);
  const y = b.filter(Number.isFinite).sort((p, q) => p - q);
  if (x.length === 0 || y.length === 0) return null;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    // Step past every copy of the smaller value in both samples before comparing (ties move together).
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}
