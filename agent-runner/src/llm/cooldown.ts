export interface CooldownOptions {
  /** Consecutive failures that put a deployment on cooldown. */
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
}

/**
 * Consecutive-failure circuit per deployment (and credential: one tenant's bad key must not
 * take a deployment away from everyone else). In memory, per process: each runner learns
 * about an outage on its own, which costs at most `failureThreshold` failed calls per
 * process and needs no shared state. When the cooldown ends the next call is let through;
 * the failure count is kept, so a single further failure starts a new cooldown, and a
 * success clears it.
 */
export class DeploymentCooldown {
  private readonly state = new Map<string, { failures: number; until: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: CooldownOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Milliseconds left on this key's cooldown, 0 when it may be called. */
  remainingMs(key: string): number {
    const s = this.state.get(key);
    return s ? Math.max(0, s.until - this.now()) : 0;
  }

  /** Returns true when this failure started a cooldown. */
  recordFailure(key: string): boolean {
    const s = this.state.get(key) ?? { failures: 0, until: 0 };
    s.failures += 1;
    const trips = s.failures >= this.opts.failureThreshold;
    if (trips) s.until = this.now() + this.opts.cooldownMs;
    this.state.set(key, s);
    return trips;
  }

  recordSuccess(key: string): void {
    this.state.delete(key);
  }
}
