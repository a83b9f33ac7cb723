export {
  connectBus,
  DeadLetterHeaders,
  type Bus,
  type BusOptions,
  type BusLogger,
  type BusMessage,
  type ConsumeOptions,
  type ConsumerHandle,
  type ConsumerStats,
  type DeadLetter,
  type HandlerResult,
  type MessageHandler,
  type PublishOptions,
} from './bus.ts';
export { BusError, type BusErrorCode } from './errors.ts';
export { redactUrl } from './redact.ts';
export {
  declareTopology,
  deleteTopology,
  topologyNames,
  topologySpec,
  routingKeyFor,
  Exchanges,
  Queues,
  RoutingKeys,
  DEFAULT_DELIVERY_LIMIT,
  type ExchangeKey,
  type QueueKey,
  type TopologyNames,
  type TopologyOptions,
  type TopologySpec,
} from './topology.ts';
