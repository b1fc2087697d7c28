/** The first retry after a failed refresh comes after about this long; each further failure doubles it. */
const FIRST_RETRY_MS = 5_000;
const LONGEST_RETRY_MS = 5 * 60_000;

/**
 * How long to wait before the next attempt after `failures` failed refreshes in a row: doubling, capped,
 * and "equal jitter" (half fixed, half random) so instances or connections that failed together do not all
 * hit a recovering provider at the same moment.
 */
export function retryDelayMs(failures: number, random: () => number): number {
  const ceiling = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
