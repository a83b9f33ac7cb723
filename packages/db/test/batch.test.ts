import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma, type Db, type TenantScope } from '@konstruct/db';
import { inlineSql, jsonText, literal } from '../src/batch.ts';
import { appDb, createTenant, ownerClient } from '../../../test/support/db.ts';

let owner: pg.Client;
let db: Db;
let a: TenantScope;
let b: TenantScope;

beforeAll(async () => {
  owner = await ownerClient();
  db = appDb(2);
  a = await createTenant(owner, 'Batch A');
  b = await createTenant(owner, 'Batch B');
});

afterAll(async () => {
  await db?.close();
  await owner?.end();
});

const one = async (scope: TenantScope, sql: Prisma.Sql) => (await db.tenantBatch(scope, [sql]))[0]![0]!;

describe('values inlined into a batch', () => {
  const hostile = [
    "it's",
    "'; DROP TABLE tenants; --",
    'back\\slash \\\' and \\\\ double',
    'E\'x\' $$ dollar $$ $tag$',
    'line one\nline two\r\n\ttab',
    'unicode: ü ß 你好 🚀 \u2028',
    '',
    ' leading and trailing ',
    '"double quotes" and {braces}, commas',
  ];

  it.each(hostile)('a string comes back exactly as written: %j', async (s) => {
    const row = await one(a, Prisma.sql`SELECT ${s}::text AS v, length(${s}) AS n`);
    expect(row.v).toBe(s);
    expect(row.n).toBe([...s].length);
  });

  it('arrays, JSON, numbers, booleans, dates and null keep their values', async () => {
    const when = new Date('2026-11-27T03:04:05.678Z');
    const row = await one(
      a,
      Prisma.sql`SELECT ${hostile}::text[] AS arr, ${{ k: "v'\\", n: [1, null] }}::jsonb AS obj, 1 - ${-5} AS neg, ${2.5} * 2 AS num,
                        ${12345678901234567890n}::numeric AS big, ${true} AND NOT ${false} AS bool, ${when}::timestamptz AS at,
                        ${null}::text IS NULL AS nil, array_length(${[null, 'x']}::text[], 1) AS withnull`,
    );
    expect(row.arr).toEqual(hostile);
    expect(row.obj).toEqual({ k: "v'\\", n: [1, null] });
    expect(row.neg).toBe(6);
    expect(Number(row.num)).toBe(5);
    expect(row.big).toBe('12345678901234567890');
    expect(row.bool).toBe(true);
    expect((row.at as Date).toISOString()).toBe(when.toISOString());
    expect(row.nil).toBe(true);
    expect(row.withnull).toBe(2);
  });

  it('writes a NUL, which Postgres cannot hold, as U+FFFD instead of failing the transaction', async () => {
    const row = await one(
      a,
      Prisma.sql`SELECT ${'a\u0000b'}::text AS s, ${['x\u0000']}::text[] AS arr, ${{ ['k\u0000']: 'v\u0000', n: ['\u0000'] }}::jsonb AS obj,
                        ${jsonText({ text: 'q\u0000' })}::jsonb AS viaText, ${jsonText({ text: 'typed \\u0000 as text' })}::jsonb AS literal`,
    );
    expect(row).toEqual({
      s: 'a\uFFFDb',
      arr: ['x\uFFFD'],
      obj: { 'k\uFFFD': 'v\uFFFD', n: ['\uFFFD'] },
      viatext: { text: 'q\uFFFD' },
      // A backslash and "u0000" someone typed are text, and stay so.
      literal: { text: 'typed \\u0000 as text' },
    });
  });

  it('refuses values that have no safe literal', () => {
    expect(() => literal(Number.NaN)).toThrow(/NaN/);
    expect(() => literal(Infinity)).toThrow(/Infinity/);
    expect(() => literal(Buffer.from('x'))).toThrow(/binary/);
    expect(() => literal(new Date('nope'))).toThrow(/invalid date/);
  });

  it('writes the text a reader can check', () => {
    expect(inlineSql(Prisma.sql`SELECT ${"o'neil"} AS a, ${-1} AS b, ${null} AS c`)).toBe("SELECT 'o''neil' AS a, (-1) AS b, NULL AS c");
  });
});

describe('tenantBatch', () => {
  it('runs every statement under the tenant with row-level security', async () => {
    const [settings, mine] = await db.tenantBatch(a, [
      Prisma.sql`SELECT current_user AS role, current_setting('app.tenant_id') AS tenant`,
      Prisma.sql`SELECT id::text AS id FROM tenants`,
    ]);
    expect(settings![0]).toEqual({ role: 'konstruct_app', tenant: a.tenantId });
    // The application role sees its own tenant row only.
    expect(mine!.map((r) => r.id)).toEqual([a.tenantId]);
  });

  it('later statements see what earlier ones wrote; another tenant sees none of it', async () => {
    const agentId = randomUUID();
    const [, seen] = await db.tenantBatch(a, [
      Prisma.sql`INSERT INTO agents (id, tenant_id, name, role, updated_at) VALUES (${agentId}::uuid, ${a.tenantId}::uuid, 'Batch agent', 'tester', now())`,
      Prisma.sql`SELECT name FROM agents WHERE id = ${agentId}::uuid`,
    ]);
    expect(seen).toEqual([{ name: 'Batch agent' }]);
    const [fromB] = await db.tenantBatch(b, [Prisma.sql`SELECT count(*)::int AS n FROM agents WHERE id = ${agentId}::uuid`]);
    expect(fromB).toEqual([{ n: 0 }]);
  });

  it('is one transaction: a failing statement undoes the ones before it, and the pool stays usable', async () => {
    const agentId = randomUUID();
    await expect(
      db.tenantBatch(a, [
        Prisma.sql`INSERT INTO agents (id, tenant_id, name, role, updated_at) VALUES (${agentId}::uuid, ${a.tenantId}::uuid, 'Never', 'x', now())`,
        Prisma.sql`SELECT 1 / 0`,
      ]),
    ).rejects.toThrow(/division by zero/);
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM agents WHERE id = '${agentId}'`);
    expect(rows[0].n).toBe(0);
    // Both pooled connections are in a clean state afterwards.
    const again = await Promise.all([one(a, Prisma.sql`SELECT 1 AS x`), one(a, Prisma.sql`SELECT 2 AS x`)]);
    expect(again).toEqual([{ x: 1 }, { x: 2 }]);
  });

  it('cannot write into another tenant', async () => {
    await expect(
      db.tenantBatch(a, [
        Prisma.sql`INSERT INTO agents (id, tenant_id, name, role, updated_at) VALUES (${randomUUID()}::uuid, ${b.tenantId}::uuid, 'Intruder', 'x', now())`,
      ]),
    ).rejects.toThrow(/row-level security/);
  });

  it('needs a tenant scope', async () => {
    await expect(db.tenantBatch({ tenantId: a.tenantId } as TenantScope, [Prisma.sql`SELECT 1`])).rejects.toThrow(/TenantScope/);
  });
});
