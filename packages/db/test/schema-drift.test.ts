import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { ownerClient } from '../../../test/support/db.ts';
import { actualFromDatabase, diffSchemas, expectedFromPrisma, formatDrift, type SchemaShape } from './drift.ts';

const SCHEMA_PATH = new URL('../../../prisma/schema.prisma', import.meta.url);
const schemaSource = readFileSync(SCHEMA_PATH, 'utf8');

/** Applies `edit` to the schema text, failing loudly if the anchor is not there (so the test cannot silently test nothing). */
function edited(find: string | RegExp, replace: string): string {
  const next = schemaSource.replace(find, replace);
  if (next === schemaSource) throw new Error(`edit anchor not found in schema.prisma: ${String(find)}`);
  return next;
}

describe('schema.prisma and the migrated database agree', () => {
  let owner: pg.Client;
  let actual: SchemaShape;

  beforeAll(async () => {
    owner = await ownerClient();
    actual = await actualFromDatabase(owner);
  });
  afterAll(async () => {
    await owner?.end();
  });

  it('has no drift: every model/field/enum matches a table/column/type with the same type and nullability', () => {
    const expected = expectedFromPrisma(schemaSource);
    // Guard against a vacuous pass (e.g. an empty parse or an empty catalog query).
    expect(expected.tables.size).toBeGreaterThanOrEqual(20);
    expect(actual.tables.size).toBeGreaterThanOrEqual(20);
    expect(expected.enums.size).toBeGreaterThanOrEqual(15);
    expect(diffSchemas(expected, actual), formatDrift(diffSchemas(expected, actual))).toEqual([]);
  });

  it('maps the interesting types the way Postgres spells them', () => {
    const expected = expectedFromPrisma(schemaSource);
    const col = (s: SchemaShape, t: string, c: string) => s.tables.get(t)?.get(c);
    for (const s of [expected, actual]) {
      expect(col(s, 'tenants', 'id')).toEqual({ type: 'uuid', nullable: false });
      expect(col(s, 'tenants', 'status')).toEqual({ type: 'enum tenant_status', nullable: false });
      expect(col(s, 'tenants', 'created_at')).toEqual({ type: 'timestamp(3) with time zone', nullable: false });
      expect(col(s, 'api_keys', 'scopes')).toEqual({ type: 'text[]', nullable: true });
      expect(col(s, 'api_keys', 'revoked_at')).toEqual({ type: 'timestamp(3) with time zone', nullable: true });
      expect(col(s, 'budgets', 'limit')).toEqual({ type: 'bigint', nullable: false });
      expect(col(s, 'tool_definitions', 'timeout_ms')).toEqual({ type: 'integer', nullable: false });
      expect(col(s, 'tool_definitions', 'allow_private_network')).toEqual({ type: 'boolean', nullable: false });
      expect(col(s, 'agents', 'model_preferences')).toEqual({ type: 'jsonb', nullable: false });
      expect(col(s, 'memory_items', 'embedding')).toEqual({ type: 'vector(384)', nullable: false });
      expect(s.enums.get('delivery_state')).toEqual(['received', 'pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'held']);
    }
    expect(actual.tables.has('_prisma_migrations')).toBe(false);
  });
});

/**
 * The detector itself, without a database: the "database" is the shape of the unmodified
 * schema (which the test above proves equal to the migrated database), and the schema text is
 * edited. Pure, so these keep passing — and keep proving the detector works — even while the
 * real database drifts.
 */
describe('diffSchemas detects drift', () => {
  const actual = expectedFromPrisma(schemaSource);
  const drift = (schema: string) => diffSchemas(expectedFromPrisma(schema), actual);

  it('the unmodified schema against itself has no differences', () => {
    expect(drift(schemaSource)).toEqual([]);
  });

  it('a field added to a model is a missing column', () => {
    expect(drift(edited('  persona          String       @default("")\n', '  persona          String       @default("")\n  nickname         String?      @map("nick_name")\n')))
      .toEqual(['missing column: agents.nick_name text']);
  });

  it('a field removed from a model is an extra column', () => {
    expect(drift(edited(/\n {2}botUserId +String\? +@map\("bot_user_id"\)/, '')))
      .toEqual(['extra column: channel_connections.bot_user_id text']);
  });

  it('a changed type is a type mismatch (scalar, native type, enum, list and Unsupported)', () => {
    expect(drift(edited('  limit     BigInt\n', '  limit     Int\n')))
      .toEqual(['type mismatch: budgets.limit schema says integer, database has bigint']);
    expect(drift(edited(/(model Operator \{\n {2}id +String +@id @default\(uuid\(\)\)) @db\.Uuid/, '$1')))
      .toEqual(['type mismatch: operators.id schema says text, database has uuid']);
    expect(drift(edited(/(occurredAt +DateTime +@default\(now\(\)\) @map\("occurred_at"\)) @db\.Timestamptz\(3\)/, '$1')))
      .toEqual(['type mismatch: audit_events.occurred_at schema says timestamp(3) without time zone, database has timestamp(3) with time zone']);
    expect(drift(edited(/(model Handoff \{[\s\S]*?status +)HandoffStatus @default\(open\)/, '$1ConversationState @default(active)')))
      .toEqual(['type mismatch: handoffs.status schema says enum conversation_state, database has enum handoff_status']);
    expect(drift(edited('  scopes     String[]  @default([])', '  scopes     String    @default("")')))
      .toEqual([
        'type mismatch: api_keys.scopes schema says text, database has text[]',
        'nullability mismatch: api_keys.scopes schema says not null, database has nullable',
      ]);
    expect(drift(edited('Unsupported("vector(384)")', 'Unsupported("vector(768)")')))
      .toEqual(['type mismatch: memory_items.embedding schema says vector(768), database has vector(384)']);
  });

  it('a changed optionality is a nullability mismatch', () => {
    expect(drift(edited(/(model Tenant \{[\s\S]*? {2}name +)String\n/, '$1String?\n')))
      .toEqual(['nullability mismatch: tenants.name schema says nullable, database has not null']);
    expect(drift(edited('  lastLoginAt     DateTime? ', '  lastLoginAt     DateTime  ')))
      .toEqual(['nullability mismatch: operators.last_login_at schema says not null, database has nullable']);
    expect(drift(edited('Unsupported("vector(384)")', 'Unsupported("vector(384)")?')))
      .toEqual(['nullability mismatch: memory_items.embedding schema says nullable, database has not null']);
  });

  it('a new model is a missing table; a removed model is an extra table', () => {
    const added = `${schemaSource}\nmodel Webhook {\n  id  String @id @db.Uuid\n  url String\n\n  @@map("webhooks")\n}\n`;
    expect(drift(added)).toEqual(['missing table: webhooks (in schema.prisma, not in the database)']);
    expect(drift(edited(/\/\/\/ Stripe webhook events[^\n]*\nmodel StripeEvent \{[^}]*\}\n/, '')))
      .toEqual(['extra table: stripe_events (in the database, not in schema.prisma)']);
  });

  it('a renamed @map is one missing and one extra column', () => {
    expect(drift(edited('@map("key_hint")', '@map("key_last4")'))).toEqual([
      'extra column: provider_keys.key_hint text not null',
      'missing column: provider_keys.key_last4 text not null',
    ]);
  });

  it('enum values and enums themselves are compared', () => {
    expect(drift(edited('  ollama\n', '  ollama\n  mistral\n')))
      .toEqual(['enum labels differ: llm_provider schema says [openai, anthropic, ollama, mistral], database has [openai, anthropic, ollama]']);
    expect(drift(edited('enum HandoffStatus {\n  open\n  released\n', 'enum HandoffStatus {\n  open\n  released @map("closed")\n')))
      .toEqual(['enum labels differ: handoff_status schema says [open, closed], database has [open, released]']);
    expect(drift(`${schemaSource}\nenum Mood {\n  happy\n  sad\n\n  @@map("mood")\n}\n`))
      .toEqual(['missing enum: mood (happy, sad)']);
  });

  it('reports several differences at once, in one readable message', () => {
    const schema = edited('  limit     BigInt\n', '  limit     Int?\n').replace('  ollama\n', '');
    const diffs = drift(schema);
    expect(diffs).toEqual([
      'type mismatch: budgets.limit schema says integer, database has bigint',
      'nullability mismatch: budgets.limit schema says nullable, database has not null',
      'enum labels differ: llm_provider schema says [openai, anthropic], database has [openai, anthropic, ollama]',
    ]);
    expect(formatDrift(diffs)).toBe(
      'schema.prisma and the migrated database disagree (3):\n' +
        '  - type mismatch: budgets.limit schema says integer, database has bigint\n' +
        '  - nullability mismatch: budgets.limit schema says nullable, database has not null\n' +
        '  - enum labels differ: llm_provider schema says [openai, anthropic], database has [openai, anthropic, ollama]',
    );
  });

  it('a database-side change is reported too', () => {
    const expected = expectedFromPrisma(schemaSource);
    const tampered: SchemaShape = {
      tables: new Map([...actual.tables].map(([t, cols]) => [t, new Map(cols)])),
      enums: new Map(actual.enums),
    };
    tampered.tables.get('messages')!.set('text', { type: 'character varying(4000)', nullable: true });
    tampered.tables.get('messages')!.set('debug', { type: 'jsonb', nullable: true });
    tampered.tables.delete('plans');
    tampered.enums.delete('tool_kind');
    expect(diffSchemas(expected, tampered)).toEqual([
      'extra column: messages.debug jsonb',
      'type mismatch: messages.text schema says text, database has character varying(4000)',
      'nullability mismatch: messages.text schema says not null, database has nullable',
      'missing table: plans (in schema.prisma, not in the database)',
      'missing enum: tool_kind (builtin, http)',
    ]);
  });

  it('an unparsable schema is an error, not an empty (passing) comparison', () => {
    expect(() => expectedFromPrisma(`${schemaSource}\nmodel Broken {\n  id String @id\n  x NoSuchType\n}\n`)).toThrow(/did not parse/);
  });
});
