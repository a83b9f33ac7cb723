import { randomUUID } from 'node:crypto';
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLEnumType,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/** The kinds of thing an id argument can name; the keys of an IdBook. */
export type Entity =
  | 'tenant'
  | 'agent'
  | 'tool'
  | 'rule'
  | 'connection'
  | 'rateLimit'
  | 'conversation'
  | 'message'
  | 'handoff'
  | 'memory'
  | 'budget'
  | 'usageRecord'
  | 'providerKey'
  | 'apiKey'
  | 'subscription'
  | 'membership'
  | 'operator'
  | 'auditEvent'
  | 'endUser'
  | 'team';

/** One tenant's ids by entity (the first of each kind is the "plausible" one). */
export type IdBook = Record<Entity, string[]>;

export interface GeneratedCall {
  /** Query.x or Mutation.x */
  field: string;
  operation: 'query' | 'mutation';
  query: string;
  variables: Record<string, unknown>;
  /** The victim's values put into id arguments (they may be echoed back by a NotFound). */
  victimValues: string[];
  /** Human description of the arguments: which slot got what. */
  description: string;
}

interface Slot {
  /** Argument path, e.g. ["input", "agentId"]. */
  path: string[];
  entity: Entity | undefined;
}

export interface GenerateOptions {
  /** The tenant under attack and the attacker's own ids (for the other arguments of a field). */
  victim: IdBook;
  attacker: IdBook;
  /** 'all': every victim value into every id argument; 'plausible': only the matching entity's. */
  mode: 'all' | 'plausible';
  /** Object nesting of the selection set below the root field. */
  selectionDepth?: number;
}

const SLOT_ENTITY: Record<string, Entity> = {
  agentId: 'agent',
  toolId: 'tool',
  ruleId: 'rule',
  connectionId: 'connection',
  conversationId: 'conversation',
  operatorId: 'operator',
  tenantId: 'tenant',
  budgetId: 'budget',
  endUserExternalId: 'endUser',
  actorId: 'operator',
  subjectId: 'agent',
};

/** Which entity a root field's bare `id` argument names, from the field's name. */
const FIELD_ENTITY: [RegExp, Entity][] = [
  [/channelconnection/i, 'connection'],
  [/tool/i, 'tool'],
  [/escalationrule/i, 'rule'],
  [/providerkey/i, 'providerKey'],
  [/apikey/i, 'apiKey'],
  [/budget/i, 'budget'],
  [/memor/i, 'memory'],
  [/auditevent/i, 'auditEvent'],
  [/tenant/i, 'tenant'],
  [/conversation/i, 'conversation'],
  [/handoff/i, 'handoff'],
  [/member/i, 'membership'],
  [/ratelimit/i, 'rateLimit'],
  [/subscription/i, 'subscription'],
  [/agent/i, 'agent'],
];

function entityOf(fieldName: string, argName: string): Entity | undefined {
  if (SLOT_ENTITY[argName]) return SLOT_ENTITY[argName];
  if (argName === 'id') return FIELD_ENTITY.find(([re]) => re.test(fieldName))?.[1];
  return undefined;
}

/**
 * An argument position that names something: any ID, and a String whose name ends in Id
 * where it is a lookup key (a root argument, or a field of a *Filter input) rather than new
 * data for a record being written.
 */
function isSlot(type: GraphQLInputType, name: string, atRoot: boolean, parentName: string | undefined): boolean {
  const named = getNamedType(type);
  if (named.name === 'ID') return true;
  if (named.name === 'String' && /Id$/.test(name)) return atRoot || Boolean(parentName?.endsWith('Filter'));
  return false;
}

function findSlots(fieldName: string, args: readonly GraphQLArgument[]): Slot[] {
  const slots: Slot[] = [];
  const walk = (type: GraphQLInputType, name: string, path: string[], parent: string | undefined, depth: number) => {
    if (isSlot(type, name, path.length === 1, parent)) {
      slots.push({ path, entity: entityOf(fieldName, name) });
      return;
    }
    const named = getNamedType(type);
    if (isInputObjectType(named) && depth < 4) {
      for (const f of Object.values(named.getFields())) walk(f.type, f.name, [...path, f.name], named.name, depth + 1);
    }
  };
  for (const a of args) walk(a.type, a.name, [a.name], undefined, 0);
  return slots;
}

/** Does an input type contain a slot anywhere below? */
function containsSlot(type: GraphQLInputType, name: string, parent: string | undefined, atRoot: boolean, depth = 0): boolean {
  if (isSlot(type, name, atRoot, parent)) return true;
  const named = getNamedType(type);
  if (!isInputObjectType(named) || depth > 3) return false;
  return Object.values(named.getFields()).some((f) => containsSlot(f.type, f.name, named.name, false, depth + 1));
}

const DAY = 86_400_000;

/** A plausible, valid-looking value for a non-id scalar argument, by name and type. */
function scalarValue(typeName: string, name: string, n: string, enumValues: string[] | undefined): unknown {
  if (enumValues) return enumValues[0];
  switch (typeName) {
    case 'Int':
      if (name === 'first') return 100;
      if (name === 'limit') return 50;
      if (name === 'timeoutMs') return 1000;
      if (name === 'maxResponseBytes') return 1000;
      if (name === 'perMinute' || name === 'burst') return 10;
      return 1;
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'DateTime':
      if (name === 'from') return new Date(Date.now() - 300 * DAY).toISOString();
      if (name === 'to') return new Date(Date.now() + 60 * DAY).toISOString();
      return new Date().toISOString();
    case 'JSON':
      return name === 'parameters' ? { type: 'object', properties: {} } : {};
    default: {
      const lower = name.toLowerCase();
      if (lower.includes('email')) return `xt-nobody-${n}@example.test`;
      if (lower.includes('password')) return 'a long and proper password';
      if (lower === 'slug') return `xt-slug-${n}`;
      if (lower.includes('url')) return `https://xt-${n}.example.test/hook`;
      if (name === 'limit') return '1000';
      if (name === 'method') return 'POST';
      if (name === 'botToken') return `xoxb-xt-${n}-0123456789abcdef`;
      if (name === 'key' || lower.includes('secret') || lower.includes('token')) return `xt-secret-value-${n}-0123456789abcdef`;
      if (name === 'query') return 'what do you remember';
      if (name === 'pattern') return 'refund';
      if (lower.endsWith('name')) return `xt${n}`;
      return `xt-${n}`;
    }
  }
}

interface Assignment {
  values: Map<string, string | undefined>;
  victimValues: string[];
  description: string;
}

/**
 * For each field of Query and Mutation: operations whose id arguments get the victim's ids.
 * Every id argument in turn gets each victim value (mode 'all') or the victim's id of the
 * matching entity ('plausible'); the other id arguments get the attacker's own matching ids,
 * so the victim's id is the only thing that should make the call fail. Fields with several
 * id arguments also get one call with the victim's matching id in all of them.
 */
export function generateCalls(schema: GraphQLSchema, opts: GenerateOptions): GeneratedCall[] {
  const calls: GeneratedCall[] = [];
  let counter = 0;
  // Names must be unique per tenant (tools, connections): no two generations may repeat one.
  const salt = Math.random().toString(36).slice(2, 7);
  const allVictimValues = [...new Set(Object.values(opts.victim).flat())];
  const depth = opts.selectionDepth ?? 3;

  for (const [operation, root] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const slots = findSlots(field.name, field.args);
      const key = (path: string[]) => path.join('.');
      const assignments: Assignment[] = [];
      const pickVictim = (s: Slot) => (s.entity ? opts.victim[s.entity][0] : opts.victim.tenant[0]);
      const pickAttacker = (s: Slot) => (s.entity ? opts.attacker[s.entity][0] : undefined);
      if (slots.length === 0) assignments.push({ values: new Map(), victimValues: [], description: '' });
      for (const s of slots) {
        const pool = opts.mode === 'all' ? allVictimValues : [pickVictim(s)!];
        for (const v of pool) {
          const values = new Map<string, string | undefined>();
          const desc: string[] = [];
          for (const o of slots) {
            const value = o === s ? v : pickAttacker(o);
            values.set(key(o.path), value);
            desc.push(`${key(o.path)}=${o === s ? `victim:${v}` : value ? `own:${value}` : 'omitted'}`);
          }
          assignments.push({ values, victimValues: [v], description: desc.join(' ') });
        }
      }
      if (slots.length > 1) {
        const values = new Map(slots.map((s) => [key(s.path), pickVictim(s)]));
        assignments.push({
          values,
          victimValues: [...values.values()].filter((v): v is string => Boolean(v)),
          description: slots.map((s) => `${key(s.path)}=victim:${pickVictim(s)}`).join(' '),
        });
      }

      // Inputs with optional fields: once with everything filled in, once with only what is
      // required (and the id arguments) — a full input may be refused for its other fields.
      const hasOptionalInputs = field.args.some((a) => {
        const named = getNamedType(a.type);
        return (
          isInputObjectType(named) &&
          Object.values(named.getFields()).some((f) => !isNonNullType(f.type) && !containsSlot(f.type, f.name, named.name, false))
        );
      });
      const variants: ('full' | 'minimal')[] = hasOptionalInputs ? ['full', 'minimal'] : ['full'];

      for (const variant of variants) {
        for (const a of assignments) {
          const n = `${salt}${++counter}`;
          const build = (type: GraphQLInputType, name: string, path: string[], parent: string | undefined, d: number): unknown => {
            if (isSlot(type, name, path.length === 1, parent)) {
              const v = a.values.get(key(path));
              if (v !== undefined) return isListType(getNullableType(type)) ? [v] : v;
              return isNonNullType(type) ? randomUUID() : undefined;
            }
            const inner = getNullableType(type) as GraphQLInputType;
            // A list of enum values gets all of them (e.g. group usage by every dimension: more to see).
            if (isListType(inner) && isEnumType(getNamedType(inner))) {
              return (getNamedType(inner) as GraphQLEnumType).getValues().map((e) => e.name);
            }
            if (isListType(inner)) {
              const item = build(inner.ofType, name, path, parent, d);
              return item === undefined ? undefined : [item];
            }
            const named = getNamedType(type);
            if (isInputObjectType(named)) {
              const obj: Record<string, unknown> = {};
              for (const f of Object.values(named.getFields())) {
                const keep = isNonNullType(f.type) || variant === 'full' || containsSlot(f.type, f.name, named.name, false);
                if (!keep || d > 3) continue;
                const v = build(f.type, f.name, [...path, f.name], named.name, d + 1);
                if (v !== undefined) obj[f.name] = v;
              }
              return obj;
            }
            return scalarValue(named.name, name, n, isEnumType(named) ? named.getValues().map((e) => e.name) : undefined);
          };
          const variables: Record<string, unknown> = {};
          const decls: string[] = [];
          const passed: string[] = [];
          for (const arg of field.args) {
            if (arg.name === 'after') continue; // a cursor of our own making would only be rejected as malformed
            const optional = !isNonNullType(arg.type);
            if (optional && variant === 'minimal' && !containsSlot(arg.type, arg.name, undefined, true)) continue;
            const v = build(arg.type, arg.name, [arg.name], undefined, 0);
            if (v === undefined) continue;
            variables[arg.name] = v;
            decls.push(`$${arg.name}: ${String(arg.type)}`);
            passed.push(`${arg.name}: $${arg.name}`);
          }
          const selection = selectionFor(schema, field.type, depth, new Set());
          const query = `${operation} CrossTenant${decls.length ? `(${decls.join(', ')})` : ''} { ${field.name}${passed.length ? `(${passed.join(', ')})` : ''}${selection} }`;
          calls.push({
            field: `${root.name}.${field.name}`,
            operation,
            query,
            variables,
            victimValues: a.victimValues,
            description: `${variant}${a.description ? ` ${a.description}` : ''}`,
          });
        }
      }
    }
  }
  return calls;
}

/**
 * `__typename`, every scalar field, and object fields (whose arguments are all optional) down
 * to `depth` levels; for unions and interfaces, the same in an inline fragment per member.
 */
export function selectionFor(schema: GraphQLSchema, type: GraphQLOutputType, depth: number, seen: Set<string>): string {
  const named = getNamedType(type);
  if (isUnionType(named) || isInterfaceType(named)) {
    const frags = schema.getPossibleTypes(named).map((m) => `... on ${m.name} { ${fieldsOf(schema, m, depth, seen)} }`);
    return ` { __typename ${frags.join(' ')} }`;
  }
  if (isObjectType(named)) return ` { ${fieldsOf(schema, named, depth, seen)} }`;
  return '';
}

function fieldsOf(schema: GraphQLSchema, type: GraphQLObjectType, depth: number, seen: Set<string>): string {
  const out = ['__typename'];
  const path = new Set(seen).add(type.name);
  for (const f of Object.values(type.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const named = getNamedType(f.type);
    if (isScalarType(named) || isEnumType(named)) {
      out.push(f.name);
    } else if (depth > 0 && !path.has(named.name)) {
      out.push(`${f.name}${selectionFor(schema, f.type, depth - 1, path)}`);
    }
  }
  return out.join(' ');
}
