/** Input rules for tenancy; each returns a message naming what was wrong, or null. */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type Problem = { field: string; message: string } | null;

export function checkTenant(input: { slug?: string | null; name?: string | null }): Problem {
  if (input.slug != null && !SLUG.test(input.slug))
    return { field: 'slug', message: 'slug must be 1–48 lowercase letters, digits or dashes, not starting or ending with a dash' };
  if (input.name != null && (input.name.trim().length === 0 || input.name.length > 120))
    return { field: 'name', message: 'name must be 1–120 characters' };
  return null;
}

export function checkOperator(input: { email: string; password: string; displayName: string }): Problem {
  if (!EMAIL.test(input.email) || input.email.length > 254) return { field: 'email', message: 'email is not a valid address' };
  if (input.password.length < 12) return { field: 'password', message: 'password must be at least 12 characters' };
  if (input.password.length > 256) return { field: 'password', message: 'password must be at most 256 characters' };
  if (input.displayName.trim().length === 0 || input.displayName.length > 120)
    return { field: 'displayName', message: 'displayName must be 1–120 characters' };
  return null;
}

export function checkApiKey(input: { name: string; scopes: string[] }): Problem {
  if (input.name.trim().length === 0 || input.name.length > 80) return { field: 'name', message: 'name must be 1–80 characters' };
  if (input.scopes.length === 0) return { field: 'scopes', message: 'at least one scope is required' };
  return null;
}

export function checkRateLimit(input: { perMinute: number; burst: number; busyMessage?: string | null; overLimitAction: string }): Problem {
  if (!Number.isInteger(input.perMinute) || input.perMinute < 1 || input.perMinute > 100_000)
    return { field: 'perMinute', message: 'perMinute must be an integer from 1 to 100000' };
  if (!Number.isInteger(input.burst) || input.burst < 1 || input.burst > 100_000)
    return { field: 'burst', message: 'burst must be an integer from 1 to 100000' };
  if (input.overLimitAction === 'busy_message' && !input.busyMessage?.trim())
    return { field: 'busyMessage', message: 'busyMessage is required when overLimitAction is BUSY_MESSAGE' };
  if (input.busyMessage && input.busyMessage.length > 1000) return { field: 'busyMessage', message: 'busyMessage must be at most 1000 characters' };
  return null;
}

export function checkConnection(input: {
  kind: 'slack' | 'whatsapp';
  externalId?: string | null;
  botToken?: string | null;
  accessToken?: string | null;
}): Problem {
  if (input.externalId != null && !/^[A-Za-z0-9_-]{1,64}$/.test(input.externalId))
    return { field: 'externalId', message: 'externalId must be a Slack team id or WhatsApp phone number id' };
  if (input.kind === 'slack' && input.botToken != null && !/^xox[bp]-/.test(input.botToken))
    return { field: 'botToken', message: 'botToken must be a Slack bot token (xoxb-…)' };
  if (input.kind === 'whatsapp' && input.botToken != null) return { field: 'botToken', message: 'WhatsApp connections use accessToken' };
  if (input.kind === 'slack' && input.accessToken != null) return { field: 'accessToken', message: 'Slack connections use botToken' };
  return null;
}
