import pg from 'pg';
import type { Prisma } from './generated/prisma/client.ts';

/**
 * Several statements in one transaction, sent to the server as a single message on the simple
 * query protocol: BEGIN, the role and tenant settings, the statements and COMMIT arrive
 * together and run back to back. The transaction is never open across a network round trip,
 * so its row locks (and, on the embedded database, its single backend) are held only while
 * the server works. Hot paths use it where the statements do not need each other's results
 * in JavaScript: a later statement can read what an earlier one wrote.
 *
 * The simple protocol has no parameters, so values are written into the text as literals:
 * strings (and whatever pg would send as text: dates, arrays, JSON) through pg's own
 * `escapeLiteral`, finite numbers and bigints as digits, booleans and null as keywords. The
 * statements are Prisma.sql templates, the same ones `$queryRaw` takes.
 */

export type BatchRow = Record<string, unknown>;

/** The SQL text of one statement with its values written in as literals. */
export function inlineSql(sql: Prisma.Sql): string {
  const { strings, values } = sql;
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) text += literal(values[i]) + (strings[i + 1] ?? '');
  return text;
}

/** One value as a SQL literal. */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`cannot inline ${v} into SQL`);
    // Parenthesised so that a negative number after an operator stays one token.
    return v < 0 ? `(${v})` : String(v);
  }
  // Postgres text cannot hold NUL (a message may carry one): it is written as U+FFFD instead of
  // failing the whole transaction.
  if (typeof v === 'string') return pg.escapeLiteral(v.replaceAll(NUL, REPLACEMENT));
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new TypeError('cannot inline an invalid date into SQL');
    return pg.escapeLiteral(v.toISOString());
  }
  if (Array.isArray(v)) return pg.escapeLiteral(arrayLiteral(v).replaceAll(NUL, REPLACEMENT));
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) throw new TypeError('cannot inline binary data into SQL; use $queryRaw');
  // jsonb refuses a NUL too (JSON writes it as an escape), in keys as in values.
  if (typeof v === 'object') return pg.escapeLiteral(jsonText(v));
  throw new TypeError(`cannot inline a ${typeof v} into SQL`);
}

/** JSON text for a `::jsonb` value, with any NUL (in keys or strings) written as U+FFFD. */
export function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => withoutNul(x));
}

const NUL = '\u0000';
const REPLACEMENT = '\uFFFD';

function withoutNul(x: unknown): unknown {
  if (typeof x === 'string') return x.replaceAll(NUL, REPLACEMENT);
  if (x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Date) && Object.keys(x).some((k) => k.includes(NUL))) {
    return Object.fromEntries(Object.entries(x).map(([k, y]) => [k.replaceAll(NUL, REPLACEMENT), y]));
  }
  return x;
}

/** A Postgres array literal ('{"a","b",NULL}'), every element quoted. */
function arrayLiteral(items: readonly unknown[]): string {
  const parts = items.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    if (Array.isArray(item)) return arrayLiteral(item);
    const s = item instanceof Date ? item.toISOString() : typeof item === 'object' ? JSON.stringify(item) : String(item);
    return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${parts.join(',')}}`;
}

/**
 * Runs `settings` (a statement that sets the role and tenant, transaction-locally) and then
 * `statements` in one transaction, in one round trip; returns each statement's rows. On any
 * error the transaction is rolled back and the error thrown: none of it is applied.
 */
export async function runBatch(pool: pg.Pool, settings: string, statements: readonly Prisma.Sql[]): Promise<BatchRow[][]> {
  if (statements.length === 0) return [];
  const text = ['BEGIN', settings, ...statements.map(inlineSql), 'COMMIT'].join(';\n');
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const results = (await client.query(text)) as unknown as pg.QueryResult<BatchRow>[];
    // BEGIN and the settings first, COMMIT last.
    return results.slice(2, 2 + statements.length).map((r) => r.rows);
  } catch (e) {
    // The failed statement aborted the transaction and the rest of the message was skipped.
    await client.query('ROLLBACK').catch((err: Error) => (broken = err));
    throw e;
  } finally {
    client.release(broken);
  }
}
