import { readFileSync, existsSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeSupergraph, root } from '../scripts/supergraph.ts';

describe('supergraph', () => {
  it('the committed subgraph SDL files and supergraph.graphql match the code (run `npm run compose`)', async () => {
    const { files } = await composeSupergraph();
    expect(files.size).toBeGreaterThan(1);
    const stale = [...files]
      .filter(([path, contents]) => !existsSync(path) || readFileSync(path, 'utf8') !== contents)
      .map(([path]) => relative(root, path));
    expect(stale, `stale: ${stale.join(', ')} — run npm run compose`).toEqual([]);
  });
});
