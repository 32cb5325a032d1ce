// Reconnect delays: exponential, capped, with jitter so a room full of clients dropped at
// once does not stampede the server when it comes back.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay randomised either way (0.2 → ±20 %). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (1-based). `random` returns [0, 1). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const spread = exp * opts.jitter;
  return Math.round(exp - spread + random() * 2 * spread);
}
