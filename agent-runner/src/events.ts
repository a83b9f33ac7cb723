import type { Redis } from 'ioredis';
import { tenantEventsChannel, type Logger, type TenantEvent } from '@konstruct/core';

/** Publishes live events for subscribers. Fire and forget: a lost event never holds up a reply. */
export function createEventPublisher(redis: Redis, keyPrefix: string, logger: Logger) {
  return (event: TenantEvent) => {
    redis.publish(tenantEventsChannel(keyPrefix, event.tenantId), JSON.stringify(event)).catch((e: unknown) => {
      logger.warn({ err: (e as Error).message, type: event.type }, 'live event not published');
    });
  };
}
