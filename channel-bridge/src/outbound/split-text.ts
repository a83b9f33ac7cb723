/**
 * Slack truncates `text` past 40 000 characters and advises staying under 4 000 for readable
 * messages; parts of this size leave room for the fence markers a split inside a code block adds.
 */
export const SLACK_PART_LIMIT = 3_800;

const FENCE = '```';
const REOPEN = '```\n';
const CLOSE = '\n```';

interface Cut {
  /** The part ends here… */
  end: number;
  /** …and the next one starts here (the separator in between is dropped). */
  next: number;
}

/**
 * Splits mrkdwn into parts of at most `limit` characters, preferring paragraph breaks, then line
 * breaks, then spaces, and only as a last resort cutting a word (never inside a surrogate pair,
 * an `&amp;` entity or a `<url|label>` link). A part that ends inside a code block closes the
 * fence and the next part reopens it, so every part renders on its own. Deterministic: the same
 * text always gives the same parts, which is what lets a redelivery resume at part N.
 */
export function splitForSlack(text: string, limit = SLACK_PART_LIMIT): string[] {
  if (!Number.isInteger(limit) || limit < 64) throw new RangeError(`part limit must be an integer of at least 64, got ${limit}`);
  const parts: string[] = [];
  let rest = text.replace(/^(?:[^\S\n]*\n)+/, '').trimEnd();
  let inCode = false;
  while (rest) {
    const head = inCode ? REOPEN : '';
    if (head.length + rest.length <= limit) {
      parts.push(head + rest);
      break;
    }
    const cut = findCut(rest, limit - head.length - CLOSE.length);
    let { end, next } = cut;
    let open = fenceParity(inCode, rest.slice(0, end));
    if (open) {
      // The cut landed right after an opening fence: start the block in the next part instead.
      const fenceAt = rest.lastIndexOf(FENCE, end - FENCE.length);
      if (fenceAt > 0 && rest.slice(fenceAt + FENCE.length, end).trim() === '' && !fenceParity(inCode, rest.slice(0, fenceAt))) {
        end = fenceAt;
        next = fenceAt;
        open = false;
      }
    }
    let body = rest.slice(0, end);
    if (open && /^```[^\S\n]*(?:\n|$)/.test(rest.slice(next))) {
      // The block's own closing fence follows the cut: use it rather than adding one.
      next += FENCE.length;
      open = false;
      body += CLOSE;
    } else if (open) {
      body += CLOSE;
    } else {
      body = body.trimEnd();
    }
    if (body.trim()) parts.push(head + body);
    rest = rest.slice(next);
    // Blank lines at a part's start are dropped; indentation (nested bullets) is kept.
    if (!open) rest = rest.replace(/^(?:[^\S\n]*\n)+/, '');
    inCode = open;
  }
  return parts;
}

/** Whether a code block is open after `text`, given whether one was open before it. */
function fenceParity(openBefore: boolean, text: string): boolean {
  let open = openBefore;
  for (let i = text.indexOf(FENCE); i !== -1; i = text.indexOf(FENCE, i + FENCE.length)) open = !open;
  return open;
}

function findCut(text: string, budget: number): Cut {
  const window = text.slice(0, budget + 1);
  const half = Math.floor(budget / 2);
  const separators: Array<{ re: RegExp; allowed: (i: number) => boolean }> = [
    { re: /\n{2,}/g, allowed: () => true },
    { re: /\n/g, allowed: () => true },
    { re: /[^\S\n]+/g, allowed: (i) => !insideLink(window, i) },
  ];
  const found = separators.map(({ re, allowed }) => {
    let best: Cut | null = null;
    for (const m of window.matchAll(re)) {
      if (m.index > 0 && m.index <= budget && allowed(m.index)) best = { end: m.index, next: m.index + m[0].length };
    }
    return best;
  });
  // A boundary in the second half of the window keeps parts full; a paragraph break that early
  // is still better than a word break.
  for (const cut of found) if (cut && cut.end >= half) return cut;
  for (const cut of found) if (cut) return cut;
  const end = hardCut(text, budget);
  return { end, next: end };
}

function insideLink(text: string, i: number): boolean {
  const lt = text.lastIndexOf('<', i);
  return lt !== -1 && lt > text.lastIndexOf('>', i);
}

function hardCut(text: string, budget: number): number {
  let end = budget;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  const amp = text.lastIndexOf('&', end - 1);
  if (amp > 0 && end - amp < 6) {
    const semi = text.indexOf(';', amp);
    if (semi === -1 || semi >= end) end = amp;
  }
  const lt = text.lastIndexOf('<', end - 1);
  if (lt > 0 && lt > text.lastIndexOf('>', end - 1) && end - lt < 1_000) end = lt;
  while (end > 1 && text[end - 1] === '`' && text[end] === '`') end--;
  return Math.max(1, end);
}
