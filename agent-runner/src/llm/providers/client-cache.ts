/**
 * SDK clients per (base URL, key): tenants bring their own keys, so there is one client per
 * key in use. Bounded, least recently used first out, so a churn of keys cannot grow it.
 */
export class ClientCache<T> {
  private readonly clients = new Map<string, T>();
  constructor(
    private readonly create: (baseUrl: string, apiKey: string | undefined) => T,
    private readonly max = 256,
  ) {}

  get(baseUrl: string, apiKey: string | undefined): T {
    const key = `${baseUrl}\n${apiKey ?? ''}`;
    const hit = this.clients.get(key);
    if (hit) {
      this.clients.delete(key);
      this.clients.set(key, hit);
      return hit;
    }
    const client = this.create(baseUrl, apiKey);
    this.clients.set(key, client);
    if (this.clients.size > this.max) this.clients.delete(this.clients.keys().next().value!);
    return client;
  }

  get size(): number {
    return this.clients.size;
  }
}
