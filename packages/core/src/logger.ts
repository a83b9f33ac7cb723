import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths never written to logs: credentials and message bodies. */
export const redactPaths = [
  'password',
  'token',
  'botToken',
  'accessToken',
  'apiKey',
  'secret',
  'authorization',
  'headers.authorization',
  'headers["x-slack-signature"]',
  'headers["x-hub-signature-256"]',
  'text',
  'body',
  'message.text',
  'messages[*].content',
  '*.password',
  '*.token',
  '*.botToken',
  '*.apiKey',
  '*.secret',
  '*.text',
];

export function createLogger(name: string, level: LoggerOptions['level'] = 'info'): Logger {
  return pino({
    name,
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: name },
  });
}
