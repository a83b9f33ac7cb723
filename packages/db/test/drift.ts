import { getDMMF } from '@prisma/get-dmmf';
import type pg from 'pg';

/**
 * Schema-drift check between `prisma/schema.prisma` and a migrated Postgres database.
 *
 * Both sides are reduced to the same shape — tables → columns → (type, nullability), plus enum
 * types → labels — and `diffSchemas` reports every difference as one readable line. Types are
 * spelled the way Postgres' `format_type()` spells them (`uuid`, `text[]`,
 * `timestamp(3) with time zone`, `vector(384)`), except enum types, spelled `enum <db name>`.
 */

export interface ColumnShape {
  /** `format_type` spelling, or `enum <name>` / `enum <name>[]`. */
  type: string;
  nullable: boolean;
}

export interface SchemaShape {
  /** table name → column name → column. */
  tables: Map<string, Map<string, ColumnShape>>;
  /** enum type name → labels in declaration / sort order. */
  enums: Map<string, string[]>;
}

/** Prisma scalar type without a native-type attribute → Postgres type (Prisma's defaults). */
const DEFAULT_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** Prisma `@db.X(args)` native type → `format_type` spelling. */
function nativeTypeToPg(name: string, args: readonly string[]): string | undefined {
  const p = args.length ? `(${args.join(',')})` : '';
  switch (name) {
    case 'Uuid': return 'uuid';
    case 'Text': return 'text';
    case 'VarChar': return `character varying${p}`;
    case 'Char': return `character${p}`;
    case 'Citext': return 'citext';
    case 'Integer': return 'integer';
    case 'SmallInt': return 'smallint';
    case 'BigInt': return 'bigint';
    case 'Oid': return 'oid';
    case 'Real': return 'real';
    case 'DoublePrecision': return 'double precision';
    case 'Decimal': return `numeric${p}`;
    case 'Money': return 'money';
    case 'Boolean': return 'boolean';
    case 'Timestamptz': return `timestamp${p} with time zone`;
    case 'Timestamp': return `timestamp${p} without time zone`;
    case 'Time': return `time${p} without time zone`;
    case 'Timetz': return `time${p} with time zone`;
    case 'Date': return 'date';
    case 'Json': return 'json';
    case 'JsonB': return 'jsonb';
    case 'ByteA': return 'bytea';
    case 'Bit': return `bit${p}`;
    case 'VarBit': return `bit varying${p}`;
    case 'Inet': return 'inet';
    case 'Xml': return 'xml';
    default: return undefined;
  }
}

/** Lower-case, no whitespace: `vector( 384 )` and `vector(384)` are the same type. */
function normType(t: string): string {
  return t.toLowerCase().replace(/\s+/g, ' ').replace(/\s*([([,])\s*/g, '$1').replace(/\s+([)\]])/g, '$1').trim();
}

interface UnsupportedField {
  name: string;
  dbName: string | null;
  type: string;
  isList: boolean;
  isRequired: boolean;
}

/**
 * Prisma's DMMF leaves out `Unsupported("…")` fields entirely (the engine cannot query them),
 * so they are read from the model's block in the source text: `name Unsupported("t")[]? @map("x")`.
 */
function unsupportedFields(source: string, modelName: string): UnsupportedField[] {
  const noComments = source.replace(/\/\/[^\n]*/g, '');
  const start = new RegExp(`^\\s*model\\s+${modelName}\\s*\\{`, 'm').exec(noComments);
  if (!start) throw new Error(`model ${modelName} not found in the schema source`);
  const body = noComments.slice(start.index + start[0].length);
  const end = body.search(/^\s*\}/m);
  const block = end === -1 ? body : body.slice(0, end);
  const out: UnsupportedField[] = [];
  for (const line of block.split('\n')) {
    const m = /^\s*(\w+)\s+Unsupported\(\s*"((?:[^"\\]|\\.)*)"\s*\)(\[\])?(\?)?(.*)$/.exec(line);
    if (!m) continue;
    const map = /@map\(\s*(?:name\s*:\s*)?"([^"]*)"\s*\)/.exec(m[5] ?? '');
    out.push({ name: m[1]!, type: m[2]!, isList: !!m[3], isRequired: !m[4], dbName: map?.[1] ?? null });
  }
  return out;
}

/** What `prisma/schema.prisma` says the database should look like, via Prisma's own parser. */
export function expectedFromPrisma(schemaSource: string): SchemaShape {
  const dmmf = getDMMF({ datamodel: schemaSource });
  if ('type' in dmmf) {
    // Strips the terminal colour codes the schema parser puts in its messages.
    // eslint-disable-next-line no-control-regex
    const detail = (dmmf.error?.message ?? '').replace(/\u001b\[[0-9;]*m/g, '');
    throw new Error(`schema.prisma did not parse (${dmmf.type}): ${dmmf.reason} ${detail}`, { cause: dmmf.error });
  }
  const { models, enums } = dmmf.datamodel;

  const enumDbName = new Map(enums.map((e) => [e.name, e.dbName ?? e.name]));
  const shape: SchemaShape = {
    tables: new Map(),
    enums: new Map(enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)])),
  };

  for (const model of models) {
    const table = model.dbName ?? model.name;
    const columns = new Map<string, ColumnShape>();
    for (const f of model.fields) {
      if (f.kind === 'object') continue; // relation, no column
      let type: string;
      if (f.kind === 'enum') {
        type = `enum ${enumDbName.get(f.type) ?? f.type}`;
      } else if (f.nativeType) {
        const [name, args] = f.nativeType;
        type = nativeTypeToPg(name, args) ?? `unknown native type @db.${name}(${args.join(',')})`;
      } else {
        type = DEFAULT_TYPES[f.type] ?? `unknown Prisma type ${f.type}`;
      }
      // Prisma never emits NOT NULL for scalar lists (`TEXT[]`); it enforces non-null itself.
      columns.set(f.dbName ?? f.name, {
        type: normType(f.isList ? `${type}[]` : type),
        nullable: f.isList ? true : !f.isRequired,
      });
    }
    for (const f of unsupportedFields(schemaSource, model.name)) {
      columns.set(f.dbName ?? f.name, {
        type: normType(f.isList ? `${f.type}[]` : f.type),
        nullable: f.isList ? true : !f.isRequired,
      });
    }
    shape.tables.set(table, columns);
  }
  return shape;
}

/** What the database actually has in `schema` (default `public`), minus Prisma's history table. */
export async function actualFromDatabase(db: Pick<pg.Client, 'query'>, schema = 'public'): Promise<SchemaShape> {
  const shape: SchemaShape = { tables: new Map(), enums: new Map() };
  const tables = await db.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'`,
    [schema],
  );
  for (const { table } of tables.rows) shape.tables.set(table, new Map());

  const cols = await db.query<{
    table: string; column: string; formatted: string; not_null: boolean;
    typtype: string; typname: string; elem_typtype: string | null; elem_typname: string | null;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS formatted,
            a.attnotnull AS not_null, t.typtype, t.typname, et.typtype AS elem_typtype, et.typname AS elem_typname
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'
        AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  for (const r of cols.rows) {
    const type = r.typtype === 'e' ? `enum ${r.typname}`
      : r.elem_typtype === 'e' ? `enum ${r.elem_typname}[]`
      : r.formatted;
    shape.tables.get(r.table)!.set(r.column, { type: normType(type), nullable: !r.not_null });
  }

  const labels = await db.query<{ name: string; label: string }>(
    `SELECT t.typname AS name, e.enumlabel AS label
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE n.nspname = $1 ORDER BY t.typname, e.enumsortorder`,
    [schema],
  );
  for (const r of labels.rows) {
    const list = shape.enums.get(r.name) ?? [];
    list.push(r.label);
    shape.enums.set(r.name, list);
  }
  return shape;
}

const sorted = <T>(it: Iterable<T>) => [...it].sort();

/** Every difference, one line each; empty when schema and database agree. */
export function diffSchemas(expected: SchemaShape, actual: SchemaShape): string[] {
  const out: string[] = [];
  for (const table of sorted(new Set([...expected.tables.keys(), ...actual.tables.keys()]))) {
    const exp = expected.tables.get(table);
    const act = actual.tables.get(table);
    if (!act) { out.push(`missing table: ${table} (in schema.prisma, not in the database)`); continue; }
    if (!exp) { out.push(`extra table: ${table} (in the database, not in schema.prisma)`); continue; }
    for (const column of sorted(new Set([...exp.keys(), ...act.keys()]))) {
      const e = exp.get(column);
      const a = act.get(column);
      const where = `${table}.${column}`;
      if (!a) { out.push(`missing column: ${where} ${e!.type}${e!.nullable ? '' : ' not null'}`); continue; }
      if (!e) { out.push(`extra column: ${where} ${a.type}${a.nullable ? '' : ' not null'}`); continue; }
      if (e.type !== a.type) out.push(`type mismatch: ${where} schema says ${e.type}, database has ${a.type}`);
      if (e.nullable !== a.nullable) {
        out.push(`nullability mismatch: ${where} schema says ${e.nullable ? 'nullable' : 'not null'}, database has ${a.nullable ? 'nullable' : 'not null'}`);
      }
    }
  }
  for (const name of sorted(new Set([...expected.enums.keys(), ...actual.enums.keys()]))) {
    const e = expected.enums.get(name);
    const a = actual.enums.get(name);
    if (!a) { out.push(`missing enum: ${name} (${e!.join(', ')})`); continue; }
    if (!e) { out.push(`extra enum: ${name} (${a.join(', ')})`); continue; }
    if (e.join('\u0000') !== a.join('\u0000')) {
      out.push(`enum labels differ: ${name} schema says [${e.join(', ')}], database has [${a.join(', ')}]`);
    }
  }
  return out;
}

export function formatDrift(diffs: string[]): string {
  return diffs.length === 0
    ? 'schema.prisma and the database agree'
    : `schema.prisma and the migrated database disagree (${diffs.length}):\n  - ${diffs.join('\n  - ')}`;
}
