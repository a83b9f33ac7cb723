/** `npm run compose`: writes each subgraph's schema.graphql and supergraph.graphql. */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { composeSupergraph, root } from './supergraph.ts';

try {
  const { files } = await composeSupergraph();
  for (const [path, contents] of files) {
    writeFileSync(path, contents);
    console.log(`wrote ${relative(root, path)}`);
  }
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
