/** Money is stored and sent as integer micro-dollars; floats are only a display convenience. */
export const MICROS_PER_USD = 1_000_000n;

/** USD as a float, for display; exact while the amount stays below 2^53 micros (~9 billion USD). */
export function microsToUsd(micros: bigint | string | number): number {
  const m = BigInt(micros);
  const whole = m / MICROS_PER_USD;
  const frac = m % MICROS_PER_USD;
  return Number(whole) + Number(frac) / 1e6;
}

export function centsToUsd(cents: number): number {
  return cents / 100;
}
