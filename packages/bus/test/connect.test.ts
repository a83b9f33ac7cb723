import { describe, it, expect } from 'vitest';
import { BusError, connectBus, redactUrl } from '../src/index.ts';
import { captureLogger, closedPort, randomPrefix } from './helpers.ts';

const PASSWORD = 's3cret-Pa55';

describe('connectBus startup failures', () => {
  it('rejects within the default deadline with a readable, credential-free message when nothing listens', async () => {
    const port = await closedPort();
    const logger = captureLogger();
    const started = Date.now();
    const err = await connectBus({ url: `amqp://guest:${PASSWORD}@127.0.0.1:${port}`, logger }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;

    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe('UNREACHABLE');
    expect((err as BusError).message).toBe(`RabbitMQ is not reachable at amqp://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(elapsed).toBeGreaterThanOrEqual(4_500);
    expect(elapsed).toBeLessThan(7_000);
    expect(JSON.stringify(logger.entries)).not.toContain(PASSWORD);
  }, 15_000);

  it('honours a shorter connectTimeoutMs', async () => {
    const port = await closedPort();
    const started = Date.now();
    await expect(connectBus({ url: `amqp://127.0.0.1:${port}`, connectTimeoutMs: 500 })).rejects.toThrow(
      `RabbitMQ is not reachable at amqp://127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('fails fast on wrong credentials without echoing them', async () => {
    const logger = captureLogger();
    const started = Date.now();
    const err = await connectBus({ url: `amqp://guest:${PASSWORD}@127.0.0.1:5672`, prefix: randomPrefix(), logger }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe('AUTH_FAILED');
    expect((err as BusError).message).toBe('RabbitMQ at amqp://127.0.0.1:5672 refused the credentials (ACCESS_REFUSED)');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(JSON.stringify(logger.entries)).not.toContain(PASSWORD);
  });

  it('fails fast on an unknown virtual host', async () => {
    const err = await connectBus({ url: 'amqp://guest:guest@127.0.0.1:5672/no-such-vhost', logger: captureLogger() }).catch(
      (e: unknown) => e,
    );
    expect((err as BusError).code).toBe('AUTH_FAILED');
    expect((err as BusError).message).toMatch(/^RabbitMQ at amqp:\/\/127\.0\.0\.1:5672\/no-such-vhost refused the virtual host \(.*no-such-vhost not found\)$/);
  });
});

describe('redactUrl', () => {
  it('strips userinfo only', () => {
    expect(redactUrl('amqp://user:p%40ss@rabbit.internal:5672/vh')).toBe('amqp://rabbit.internal:5672/vh');
    expect(redactUrl('amqps://rabbit:5671')).toBe('amqps://rabbit:5671');
    expect(redactUrl('connect to amqp://a:b@h:1 failed')).toBe('connect to amqp://h:1 failed');
  });
});
