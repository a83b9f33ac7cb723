import { Prisma } from '@konstruct/db';

/** A unique constraint refused the write (P2002). */
export const isUniqueViolation = (e: unknown): boolean =>
  e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';

/** The row to update or delete vanished between read and write (P2025). */
export const isRecordMissing = (e: unknown): boolean =>
  e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2025';

export const asJson = (v: unknown) => v as Prisma.InputJsonValue;
