const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; a malformed one from a client cannot name a row, so callers treat it as not found. */
export const isUuid = (id: string): boolean => UUID.test(id);
