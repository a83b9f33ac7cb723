import { describe, expect, it } from 'vitest';
import { SLACK_PART_LIMIT, splitForSlack } from './split-text.ts';

const fences = (s: string) => s.split('```').length - 1;

describe('splitForSlack', () => {
  it('defaults to a limit well under Slack truncation and its 4 000-character advice', () => {
    expect(SLACK_PART_LIMIT).toBeGreaterThanOrEqual(3_500);
    expect(SLACK_PART_LIMIT).toBeLessThanOrEqual(4_000);
    const text = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${'word '.repeat(40).trim()}`).join('\n\n');
    const parts = splitForSlack(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(SLACK_PART_LIMIT);
  });

  it('leaves a short text whole', () => {
    expect(splitForSlack('hello world', 100)).toEqual(['hello world']);
  });

  it('prefers paragraph breaks, and loses nothing but the separators', () => {
    const paras = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(40)];
    const parts = splitForSlack(paras.join('\n\n'), 90);
    expect(parts).toEqual([`${paras[0]}\n\n${paras[1]}`, `${paras[2]}\n\n${paras[3]}`]);
  });

  it('falls back to line breaks, then spaces, then a hard cut', () => {
    const lines = ['x'.repeat(60), 'y'.repeat(60), 'z'.repeat(60)].join('\n');
    expect(splitForSlack(lines, 100)).toEqual(['x'.repeat(60), 'y'.repeat(60), 'z'.repeat(60)]);

    const words = Array.from({ length: 40 }, (_, i) => `w${String(i).padStart(2, '0')}`).join(' ');
    const parts = splitForSlack(words, 64);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(64);
      expect(p).toMatch(/^w\d\d( w\d\d)*$/);
    }
    expect(parts.join(' ')).toBe(words);

    const blob = 'q'.repeat(150);
    expect(splitForSlack(blob, 64).join('')).toBe(blob);
  });

  it('prefers a late line break over an early paragraph break', () => {
    const text = `${'a'.repeat(10)}\n\n${'b'.repeat(70)}\n${'c'.repeat(50)}`;
    expect(splitForSlack(text, 100)[0]).toBe(`${'a'.repeat(10)}\n\n${'b'.repeat(70)}`);
  });

  it('never cuts inside an entity, a link or a surrogate pair', () => {
    // A limit of 64 leaves 60 characters of text (room is kept to close a code fence).
    const entity = `${'e'.repeat(58)}&amp;rest`;
    expect(splitForSlack(entity, 64)).toEqual(['e'.repeat(58), '&amp;rest']);
    const emoji = `${'e'.repeat(59)}😀tail`;
    expect(splitForSlack(emoji, 64)).toEqual(['e'.repeat(59), '😀tail']);
    const link = `intro <https://example.com/a|some label text> and more ${'m'.repeat(40)}`;
    for (const p of splitForSlack(link, 64)) expect((p.match(/</g) ?? []).length).toBe((p.match(/>/g) ?? []).length);
  });

  it('closes and reopens a code block split across parts, keeping its lines intact', () => {
    const code = Array.from({ length: 20 }, (_, i) => `  line ${i} of code`).join('\n');
    const text = `Here is the code:\n\n\`\`\`\n${code}\n\`\`\`\n\nAnd after it, prose.`;
    const parts = splitForSlack(text, 120);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(120);
      expect(fences(p) % 2).toBe(0);
    }
    // Rejoining the code lines gives back the block exactly.
    const codeLines = parts.flatMap((p) => [...p.matchAll(/```\n([\s\S]*?)\n```/g)].map((m) => m[1]!)).join('\n');
    expect(codeLines).toBe(code);
    expect(parts.at(-1)).toMatch(/And after it, prose\.$/);
  });

  it('does not leave an empty code block when the cut falls right after an opening fence', () => {
    const text = `${'p'.repeat(54)}\n\`\`\`\n${'c'.repeat(30)}\n\`\`\``;
    const parts = splitForSlack(text, 64);
    expect(parts[0]).toBe('p'.repeat(54));
    expect(parts[1]).toBe(`\`\`\`\n${'c'.repeat(30)}\n\`\`\``);
    for (const p of parts) expect(p).not.toMatch(/```\n```/);
  });

  it('is deterministic', () => {
    const text = Array.from({ length: 200 }, (_, i) => (i % 7 === 0 ? '\n' : `word${i}`)).join(' ');
    expect(splitForSlack(text, 200)).toEqual(splitForSlack(text, 200));
  });
});
