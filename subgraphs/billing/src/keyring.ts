import { keyringFrom, type MasterKeyring } from '@konstruct/core';

/**
 * The master keyring provider keys are sealed with. The subgraph kit builds the request
 * context itself, so the keyring is installed once at start-up (and by tests) instead.
 */
let ring: MasterKeyring | null = null;

export function useMasterKey(masterKeyBase64: string): void {
  ring = keyringFrom(masterKeyBase64);
}

export function masterKeyring(): MasterKeyring {
  if (!ring) throw new Error('billing: master key not configured (useMasterKey was not called)');
  return ring;
}
