import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../RESULTS.md', import.meta.url);
const HEADER = `# Benchmark results

Written by \`npm run bench\`. Each section is replaced by the latest run of its benchmark.
Machines here are noisy: compare numbers within one run, and read the ratios.
`;

/** Replaces (or appends) the section of one benchmark in bench/RESULTS.md. */
export function writeSection(id: string, markdown: string): void {
  const current = existsSync(FILE) ? readFileSync(FILE, 'utf8') : HEADER;
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = current.indexOf(start);
  const j = current.indexOf(end);
  const next = i >= 0 && j > i ? current.slice(0, i) + block + current.slice(j + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(FILE, next);
}
