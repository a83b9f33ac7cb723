import type { Redis } from 'ioredis';

/**
 * First-writer-wins claim on an idempotency key. A claim is released when publishing fails,
 * so the vendor's retry is processed instead of being mistaken for a duplicate.
 */
export class Deduplicator {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlSeconds = 24 * 3600,
  ) {}

  async claim(key: string): Promise<boolean> {
    return (await this.redis.set(`${this.keyPrefix}dedup:${key}`, '1', 'EX', this.ttlSeconds, 'NX')) === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.redis.del(`${this.keyPrefix}dedup:${key}`);
  }
}
