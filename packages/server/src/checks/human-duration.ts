/** "3m 12s": a duration a person reads at a glance (its sign is for the sentence around it to say). */
export function humanDuration(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ];
  const shown = parts.filter(([value]) => value > 0).slice(0, 2);
  return shown.length ? shown.map(([value, unit]) => `${value}${unit}`).join(' ') : '0s';
}

/** "in 3m 12s" or "3m 12s ago", for an instant `ms` from now. */
export const fromNow = (ms: number): string =>
  ms >= 0 ? `in ${humanDuration(ms)}` : `${humanDuration(ms)} ago`;
