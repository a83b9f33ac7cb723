/**
 * Markdown as models write it → Slack mrkdwn. Slack renders `*bold*`, `_italic_`, `~strike~`,
 * `<url|text>` links, `>` quotes and code, but no headings, `**`, `[t](u)` or list markup, and it
 * treats `&`, `<` and `>` as control characters that must arrive as `&amp;`, `&lt;`, `&gt;`.
 *
 * Code is copied verbatim except for that escaping (Slack shows `&lt;` as `<` inside code too,
 * and an unescaped `<!channel>` would still ping everyone). User and channel mentions the model
 * writes in Slack's own syntax (`<@U…>`, `<#C…>`) stay mentions; broadcasts (`<!here>`,
 * `<!channel>`, `<!everyone>`) are escaped, so a reply can never ping a whole channel.
 */
export function markdownToMrkdwn(markdown: string): string {
  const out: string[] = [];
  let fence: { marker: string; lines: string[] } | null = null;
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    if (fence) {
      if (isFenceClose(line, fence.marker)) {
        out.push(codeBlock(fence.lines));
        fence = null;
      } else {
        fence.lines.push(line);
      }
      continue;
    }
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    // A backtick fence's info string cannot contain backticks (CommonMark); else it is inline code.
    if (open && !(open[1]!.startsWith('`') && open[2]!.includes('`'))) {
      fence = { marker: open[1]!, lines: [] };
      continue;
    }
    out.push(convertLine(line));
  }
  // An unterminated fence runs to the end of the text, as in CommonMark.
  if (fence) out.push(codeBlock(fence.lines));
  return out.join('\n');
}

function isFenceClose(line: string, marker: string): boolean {
  const m = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
  return !!m && m[1]![0] === marker[0] && m[1]!.length >= marker.length;
}

/** Slack shows a language tag after ``` as a first code line, so the info string is dropped. */
function codeBlock(lines: string[]): string {
  return '```\n' + lines.map(escapeText).join('\n') + '\n```';
}

function convertLine(line: string): string {
  const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
  if (heading) {
    const inner = convertInline(heading[1]!.replace(/\*\*|__/g, ''));
    return inner.trim() ? `*${inner}*` : '';
  }
  if (/^ {0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) return '──────────';
  const bullet = /^(\s*)[-*+]\s+(\[[ xX]\]\s+)?(.*)$/.exec(line);
  if (bullet) {
    const depth = Math.floor(bullet[1]!.replace(/\t/g, '    ').length / 2);
    const box = bullet[2] ? (/x/i.test(bullet[2]) ? '☑ ' : '☐ ') : '';
    return `${'    '.repeat(depth)}${depth === 0 ? '•' : '◦'} ${box}${convertInline(bullet[3]!)}`;
  }
  const quote = /^ {0,3}>\s?(.*)$/.exec(line);
  if (quote) return `&gt; ${convertInline(quote[1]!)}`;
  return convertInline(line);
}

/**
 * Code spans are cut out first so nothing inside them is formatted; links next, so their URLs
 * are not mistaken for emphasis; then emphasis, with `**` before `*`.
 */
function convertInline(text: string): string {
  const keep: string[] = [];
  // Placeholders are a private-use character around an index; any such character the model
  // wrote is dropped first so it cannot be mistaken for one.
  const hold = (s: string) => `\uE000${keep.push(s) - 1}\uE000`;
  let s = text.replace(/\uE000/g, '').replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_m, ticks: string, code: string) => hold(`\`${escapeText(code)}\``));
  // Images become links: Slack cannot inline them from text.
  s = s.replace(/!?\[([^\]\n]*)\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/g, (_m, label: string, url: string) =>
    hold(link(url, label)),
  );
  s = s.replace(/<((?:https?|mailto):[^\s>]+)>/g, (_m, url: string) => hold(link(url, '')));
  // Mentions in Slack's own syntax survive; everything else with angle brackets is escaped later.
  s = s.replace(/<([@#][UWCGD][A-Z0-9]+(?:\|[^>\n]*)?)>/g, (_m, ref: string) => hold(`<${ref}>`));
  s = escapeText(s);
  const italic = (t: string) => t.replace(/(?<![*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![*\w])/g, (_m, inner: string) => hold(`_${inner}_`));
  s = s.replace(/\*\*(?=\S)([^\n]*?\S)\*\*/g, (_m, inner: string) => hold(`*${italic(inner)}*`));
  // Underscores never emphasise inside a word (snake__case stays as written).
  s = s.replace(/(?<!\w)__(?=\S)([^\n]*?\S)__(?!\w)/g, (_m, inner: string) => hold(`*${italic(inner)}*`));
  s = italic(s);
  s = s.replace(/~~(?=\S)([^\n]*?\S)~~/g, (_m, inner: string) => `~${inner}~`);
  // Placeholders can nest (bold around a held link), so restore until none are left.
  while (/\uE000\d+\uE000/.test(s)) s = s.replace(/\uE000(\d+)\uE000/g, (_m, i: string) => keep[Number(i)]!);
  return s;
}

function link(url: string, label: string): string {
  const safeUrl = escapeText(url).replace(/\|/g, '%7C');
  const safeLabel = escapeText(label.trim()).replace(/\|/g, '│');
  return safeLabel && safeLabel !== safeUrl ? `<${safeUrl}|${safeLabel}>` : `<${safeUrl}>`;
}

/** Slack's three control characters, and nothing else (it does not decode other entities). */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
