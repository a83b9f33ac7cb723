import { randomUUID } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { Db } from '@konstruct/db';

/**
 * Creates the first platform operator when none exists. Idempotent: once any platform
 * operator exists nothing happens, so the env can stay set without resetting a password.
 */
export async function ensureFirstOperator(db: Db, email: string, password: string): Promise<boolean> {
  const passwordHash = await hash(password);
  return db.withPlatform(async (tx) => {
    if (await tx.operator.findFirst({ where: { isPlatformAdmin: true }, select: { id: true } })) return false;
    await tx.operator.create({
      data: { id: randomUUID(), email: email.toLowerCase(), passwordHash, displayName: 'Platform operator', isPlatformAdmin: true },
    });
    return true;
  });
}
