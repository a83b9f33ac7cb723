import { Redis } from 'ioredis';

/** Sequential Redis round trips (PING), in ms: the smallest unit of work any Redis step costs. */
export async function redisRoundTrips(url: string, samples: number): Promise<number[]> {
  const redis = new Redis(url);
  const rtt: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await redis.ping();
      rtt.push(performance.now() - t);
    }
  } finally {
    redis.disconnect();
  }
  return rtt;
}
