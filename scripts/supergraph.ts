import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parse } from 'graphql';
import { printSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@apollo/composition';
import type { GraphQLSchema } from 'graphql';

export const root = fileURLToPath(new URL('..', import.meta.url));

interface SupergraphConfig {
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
}

export function readSupergraphConfig(): SupergraphConfig {
  return parseYaml(readFileSync(join(root, 'supergraph.yaml'), 'utf8')) as SupergraphConfig;
}

export interface ComposedOutput {
  /** path → expected contents */
  files: Map<string, string>;
}

/**
 * Prints each subgraph's SDL from its Pothos schema and composes the supergraph with
 * Apollo's composition library (what `rover supergraph compose` runs).
 */
export async function composeSupergraph(): Promise<ComposedOutput> {
  const config = readSupergraphConfig();
  const files = new Map<string, string>();
  const services = [];
  for (const [name, sub] of Object.entries(config.subgraphs)) {
    const entry = join(root, 'subgraphs', name, 'src', 'schema', 'index.ts');
    if (!existsSync(entry)) continue; // not built yet
    const { schema } = (await import(pathToFileURL(entry).href)) as { schema: GraphQLSchema };
    const sdl = `${printSubgraphSchema(schema).trim()}\n`;
    files.set(join(root, sub.schema.file), sdl);
    services.push({ name, url: sub.routing_url, typeDefs: parse(sdl) });
  }
  const result = composeServices(services);
  if (result.errors?.length) {
    throw new Error(`supergraph composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  files.set(join(root, 'supergraph.graphql'), `${(result.supergraphSdl ?? '').trim()}\n`);
  return { files };
}
