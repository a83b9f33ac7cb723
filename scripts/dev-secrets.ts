import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevSecrets {
  KONSTRUCT_MASTER_KEY: string;
  SLACK_SIGNING_SECRET: string;
  JWT_SECRET: string;
  GATEWAY_SIGNING_SECRET: string;
  WHATSAPP_VERIFY_TOKEN: string;
  WHATSAPP_APP_SECRET: string;
}

/**
 * On a developer machine nobody has secrets yet: generate random ones once, keep them under
 * the git-ignored data directory (mode 0600) so restarts can still decrypt what was stored.
 * Never used when NODE_ENV=production.
 */
export function loadDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'dev-secrets.json');
  const fresh = (): DevSecrets => ({
    KONSTRUCT_MASTER_KEY: randomBytes(32).toString('base64'),
    SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
    JWT_SECRET: randomBytes(32).toString('base64url'),
    WHATSAPP_VERIFY_TOKEN: randomBytes(12).toString('hex'),
    WHATSAPP_APP_SECRET: randomBytes(16).toString('hex'),
    GATEWAY_SIGNING_SECRET: randomBytes(32).toString('hex'),
  });
  // Secrets added by newer versions are generated and merged in; existing ones are kept.
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>) : {};
  const secrets = { ...fresh(), ...existing };
  if (Object.keys(existing).length !== Object.keys(secrets).length) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}
