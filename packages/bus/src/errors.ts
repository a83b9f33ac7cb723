export type BusErrorCode =
  /** Broker could not be reached at startup (refused, DNS, timeout). */
  | 'UNREACHABLE'
  /** Broker rejected the credentials or the virtual host; retrying will not help. */
  | 'AUTH_FAILED'
  /** Declaring the topology failed, usually a queue that exists with different arguments. */
  | 'TOPOLOGY'
  /** Mandatory publish matched no queue. */
  | 'UNROUTABLE'
  /** Broker refused to take responsibility for the message (basic.nack). */
  | 'NACKED'
  /** Publish failed for another reason (channel/connection error). */
  | 'PUBLISH_FAILED'
  /** Consumer could not be started. */
  | 'CONSUMER_FAILED'
  | 'INVALID_ARGUMENT'
  | 'CLOSED';

/** Messages never contain credentials: every message built from a broker/socket error is redacted first. */
export class BusError extends Error {
  constructor(
    readonly code: BusErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BusError';
  }
}
