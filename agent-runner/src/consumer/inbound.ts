import { KonstructMessageV1, parseContract, type Logger } from '@konstruct/core';
import type { HandlerResult, BusMessage } from '@konstruct/bus';
import { runTurn, type TurnDeps } from '../loop/turn.ts';
import type { ConversationOrder } from './conversation-order.ts';

/** Validates each delivery against the contract; what does not parse is dead-lettered with the reason. */
export function createInboundHandler(deps: TurnDeps & { logger: Logger; order?: ConversationOrder }) {
  const log = deps.logger.child({ source: 'inbound' });
  return async (delivery: BusMessage): Promise<HandlerResult> => {
    const parsed = parseContract(KonstructMessageV1, delivery.body);
    if (!parsed.ok) {
      log.warn({ messageId: delivery.messageId, reason: parsed.reason }, 'invalid message dead-lettered');
      return { deadLetter: `invalid KonstructMessage v1: ${parsed.reason}` };
    }
    const msg = parsed.value;
    return deps.order ? deps.order.run(msg, () => runTurn(msg, deps)) : runTurn(msg, deps);
  };
}
