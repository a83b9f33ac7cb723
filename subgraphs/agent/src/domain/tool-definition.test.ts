import { describe, expect, it } from 'vitest';
import { applyToolInput, type ToolDefinitionInput, type ToolState } from './tool-definition.ts';

const http: ToolDefinitionInput = {
  name: 'lookup_order',
  description: 'Looks up an order by number.',
  kind: 'http',
  url: 'https://api.example.com/orders',
};
const create = (over: Partial<ToolDefinitionInput>) => applyToolInput(null, { ...http, ...over });
const fieldOf = (r: ReturnType<typeof applyToolInput>) => (r.ok ? null : r.error.field);

describe('applyToolInput', () => {
  it('fills the defaults on create', () => {
    const r = create({});
    expect(r.ok && r.value.state).toEqual({
      name: 'lookup_order',
      description: 'Looks up an order by number.',
      kind: 'http',
      url: 'https://api.example.com/orders',
      parameters: { type: 'object', properties: {} },
      method: 'POST',
      timeoutMs: 10_000,
      maxResponseBytes: 65_536,
      allowPrivateNetwork: false,
    });
    expect(r.ok && r.value.hmacSecret).toBeUndefined();
  });

  it('requires name, description and kind on create', () => {
    expect(fieldOf(applyToolInput(null, { ...http, name: null }))).toBe('name');
    expect(fieldOf(applyToolInput(null, { ...http, description: undefined }))).toBe('description');
    expect(fieldOf(applyToolInput(null, { ...http, kind: null }))).toBe('kind');
    expect(fieldOf(create({ description: '  ' }))).toBe('description');
  });

  it('checks the tool name', () => {
    for (const ok of ['a', 'lookup_order', 'Get-Weather2', `a${'b'.repeat(63)}`]) expect(create({ name: ok }).ok, ok).toBe(true);
    for (const bad of ['', '1abc', '_x', 'has space', 'dot.name', `a${'b'.repeat(64)}`, 'ünï'])
      expect(fieldOf(create({ name: bad })), bad).toBe('name');
  });

  it('wants https for http tools; plain http and private hosts only with allowPrivateNetwork', () => {
    expect(fieldOf(create({ url: null }))).toBe('url');
    expect(fieldOf(create({ url: 'not a url' }))).toBe('url');
    expect(fieldOf(create({ url: 'ftp://example.com/x' }))).toBe('url');
    expect(fieldOf(create({ url: 'http://api.example.com/x' }))).toBe('url');
    expect(create({ url: 'http://api.example.com/x', allowPrivateNetwork: true }).ok).toBe(true);
    expect(fieldOf(create({ url: 'https://user:pw@api.example.com/x' }))).toBe('url');
    for (const host of ['127.0.0.1', 'localhost', '10.1.2.3', '192.168.1.1', '172.20.0.1', '169.254.169.254', '[::1]', '[fd00::1]', '[::ffff:10.0.0.1]']) {
      expect(fieldOf(create({ url: `https://${host}/hook` })), host).toBe('url');
      expect(create({ url: `https://${host}/hook`, allowPrivateNetwork: true }).ok, host).toBe(true);
    }
    expect(create({ url: 'https://172.32.0.1/hook' }).ok).toBe(true);
    expect(create({ url: 'https://[::ffff:8.8.8.8]/hook' }).ok).toBe(true);
  });

  it('gives builtin tools no URL', () => {
    expect(applyToolInput(null, { name: 'now', description: 'The time.', kind: 'builtin' }).ok).toBe(true);
    expect(fieldOf(applyToolInput(null, { name: 'now', description: 'The time.', kind: 'builtin', url: 'https://x.example' }))).toBe('url');
  });

  it('wants parameters as an object JSON Schema', () => {
    expect(create({ parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } }).ok).toBe(true);
    for (const bad of [[], 'x', { type: 'string' }, { properties: {} }, { type: 'object', properties: [] }, { type: 'object', required: [1] }])
      expect(fieldOf(create({ parameters: bad })), JSON.stringify(bad)).toBe('parameters');
  });

  it('bounds timeoutMs, maxResponseBytes and method', () => {
    expect(create({ timeoutMs: 100 }).ok).toBe(true);
    expect(create({ timeoutMs: 60_000 }).ok).toBe(true);
    expect(fieldOf(create({ timeoutMs: 99 }))).toBe('timeoutMs');
    expect(fieldOf(create({ timeoutMs: 60_001 }))).toBe('timeoutMs');
    expect(create({ maxResponseBytes: 1024 * 1024 }).ok).toBe(true);
    expect(fieldOf(create({ maxResponseBytes: 1024 * 1024 + 1 }))).toBe('maxResponseBytes');
    expect(fieldOf(create({ maxResponseBytes: 0 }))).toBe('maxResponseBytes');
    const get = create({ method: 'get' });
    expect(get.ok && get.value.state.method).toBe('GET');
    expect(fieldOf(create({ method: 'TRACE' }))).toBe('method');
  });

  it('handles the write-only secret', () => {
    const withSecret = create({ hmacSecret: 's'.repeat(32) });
    expect(withSecret.ok && withSecret.value.hmacSecret).toBe('s'.repeat(32));
    expect(fieldOf(create({ hmacSecret: 'short' }))).toBe('hmacSecret');
    expect(fieldOf(applyToolInput(null, { name: 'now', description: 'd', kind: 'builtin', hmacSecret: 's'.repeat(32) }))).toBe('hmacSecret');

    const current: ToolState = { ...(create({}) as { ok: true; value: { state: ToolState } }).value.state };
    const keep = applyToolInput(current, { description: 'New words.' });
    expect(keep.ok && keep.value.hmacSecret).toBeUndefined();
    const clear = applyToolInput(current, { clearHmacSecret: true });
    expect(clear.ok && clear.value.hmacSecret).toBeNull();
    expect(fieldOf(applyToolInput(current, { clearHmacSecret: true, hmacSecret: 's'.repeat(32) }))).toBe('hmacSecret');
    const toBuiltin = applyToolInput(current, { kind: 'builtin' });
    expect(fieldOf(toBuiltin)).toBe('url'); // the stored URL must go too
  });

  it('checks an update against the stored state', () => {
    const current: ToolState = { ...(create({ url: 'http://10.0.0.5/hook', allowPrivateNetwork: true }) as any).value.state };
    expect(applyToolInput(current, { timeoutMs: 500 }).ok).toBe(true);
    expect(fieldOf(applyToolInput(current, { allowPrivateNetwork: false }))).toBe('url');
  });
});
