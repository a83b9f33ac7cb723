const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^@/\s?#]*@/gi;

/** `amqp://user:secret@host:5672/vh` → `amqp://host:5672/vh`, safe for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1');
}

/**
 * Returns a function that scrubs credentials from arbitrary text. Besides URL userinfo it removes
 * the literal password, because libraries and sockets sometimes echo connection parameters
 * without the URL around them.
 */
export function makeRedactor(url: string): (text: string) => string {
  const secrets = new Set<string>();
  try {
    const raw = new URL(url).password;
    if (raw) {
      secrets.add(raw);
      try {
        secrets.add(decodeURIComponent(raw));
      } catch {
        // malformed %-escape: the raw form is still covered
      }
    }
  } catch {
    // Unparseable URL: the userinfo regex is all we can do.
  }
  // Longest first so a password containing another secret is removed whole. One- and
  // two-character passwords are skipped: scrubbing them would shred every message while
  // protecting nothing worth protecting.
  const ordered = [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text.replace(USERINFO, '$1');
    for (const s of ordered) out = out.split(s).join('***');
    return out;
  };
}

export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
