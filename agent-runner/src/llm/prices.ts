/** USD per million tokens (input, output). Unknown models have no price (null); usage is still recorded. */
const PRICES: Record<string, [number, number]> = {
  'gpt-4o-mini': [0.15, 0.6],
  'gpt-4o': [2.5, 10],
  'gpt-4.1-mini': [0.4, 1.6],
  'gpt-4.1': [2, 8],
};

export function costUsdMicros(model: string, inputTokens: number, outputTokens: number): bigint | null {
  const key = Object.keys(PRICES).find((k) => model === k || model.startsWith(`${k}-20`));
  if (!key) return null;
  const [inp, out] = PRICES[key]!;
  // price per million tokens × tokens = micro-dollars.
  return BigInt(Math.round(inp * inputTokens + out * outputTokens));
}
