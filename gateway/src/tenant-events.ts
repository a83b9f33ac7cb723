import type { Redis } from 'ioredis';
import { TenantEvent, tenantEventsChannel, type Logger } from '@konstruct/core';

type Listener = (e: TenantEvent) => void;

/**
 * Fans Redis pub/sub out to subscribers. One Redis channel per tenant, subscribed while at
 * least one GraphQL subscription watches that tenant.
 */
export class TenantEvents {
  private listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    subscriber.on('message', (channel: string, raw: string) => {
      const tenantId = channel.slice(channel.lastIndexOf(':') + 1);
      const set = this.listeners.get(tenantId);
      if (!set?.size) return;
      let event: TenantEvent;
      try {
        event = TenantEvent.parse(JSON.parse(raw));
      } catch (e) {
        this.logger.warn({ channel, err: (e as Error).message }, 'malformed live event ignored');
        return;
      }
      if (event.tenantId !== tenantId) return;
      for (const l of set) l(event);
    });
  }

  /** Yields the tenant's events of one type until the consumer stops. Slow consumers lose the oldest. */
  async *stream<T extends TenantEvent['type']>(tenantId: string, type: T, maxBuffered = 1000): AsyncGenerator<Extract<TenantEvent, { type: T }>> {
    const queue: Extract<TenantEvent, { type: T }>[] = [];
    let wake: (() => void) | null = null;
    const listener: Listener = (e) => {
      if (e.type !== type) return;
      queue.push(e as Extract<TenantEvent, { type: T }>);
      if (queue.length > maxBuffered) queue.shift();
      wake?.();
    };
    await this.add(tenantId, listener);
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      await this.remove(tenantId, listener);
    }
  }

  private async add(tenantId: string, l: Listener) {
    let set = this.listeners.get(tenantId);
    if (!set) {
      set = new Set();
      this.listeners.set(tenantId, set);
      await this.subscriber.subscribe(tenantEventsChannel(this.keyPrefix, tenantId));
    }
    set.add(l);
  }

  private async remove(tenantId: string, l: Listener) {
    const set = this.listeners.get(tenantId);
    if (!set) return;
    set.delete(l);
    if (set.size === 0) {
      this.listeners.delete(tenantId);
      await this.subscriber.unsubscribe(tenantEventsChannel(this.keyPrefix, tenantId)).catch(() => undefined);
    }
  }
}
