import type pg from 'pg';

/**
 * Runs a query on the simple protocol (one wire message) with the values inlined as literals.
 *
 * Why: the embedded test database (PGlite behind pglite-socket) serves every connection from one
 * backend, and the extended protocol's Parse/Bind/Execute messages of a parameterized query can
 * interleave with another connection's (electric-sql/pglite#1046): "unnamed prepared statement
 * does not exist", or a reply that never comes and a service stalled for its transaction timeout.
 * Tests that poll while services work use this; values must be plain ids, never free text.
 */
export async function simpleQuery<R extends pg.QueryResultRow = any>(
  client: pg.Client,
  sql: string,
  values: Array<string | number> = [],
): Promise<pg.QueryResult<R>> {
  const text = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    const v = values[Number(n) - 1];
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v === 'string' && /^[\w:.@-]*$/.test(v)) return `'${v}'`;
    throw new Error(`simpleQuery: $${n} must be a number or an id-like string, got ${JSON.stringify(v)}`);
  });
  return client.query<R>(text);
}
