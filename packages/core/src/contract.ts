import { z } from 'zod';

/**
 * KonstructMessage v1 — the one shape every channel is normalized to before it reaches the
 * bus. Producer (channel-bridge) and consumer (agent-runner) both parse with this schema;
 * a new version gets a new literal in `v` and both sides accept a union during rollout.
 */
export const ChannelKind = z.enum(['slack', 'whatsapp']);
export type ChannelKind = z.infer<typeof ChannelKind>;

const Id = z.string().uuid();
const ExternalRef = z.string().min(1).max(512);

export const Attachment = z.object({
  kind: z.enum(['image', 'document', 'audio', 'video', 'file', 'location', 'sticker']),
  externalId: ExternalRef.optional(),
  url: z.string().url().optional(),
  mimeType: z.string().max(255).optional(),
  name: z.string().max(1024).optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  caption: z.string().max(4096).optional(),
  /** Vendor's content hash (WhatsApp: base64 SHA-256), to verify a download. */
  sha256: z.string().max(128).optional(),
  location: z
    .object({ latitude: z.number(), longitude: z.number(), name: z.string().optional(), address: z.string().optional() })
    .optional(),
});
export type Attachment = z.infer<typeof Attachment>;

/**
 * How attachments read as text where the sender wrote none, e.g.
 * `[image: photo.png] [document: q3.pdf]`: the message text the employee sees then.
 */
export function attachmentMarkers(attachments: readonly Attachment[]): string {
  return attachments.map((a) => `[${a.kind}${a.name ? `: ${a.name}` : ''}]`).join(' ');
}

/** W3C trace context, carried across the bus so one conversation turn is one trace. */
export const TraceContext = z.object({
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/),
  tracestate: z.string().max(512).optional(),
});
export type TraceContext = z.infer<typeof TraceContext>;

/**
 * How the runner must treat a message, decided before it reached the bus. Optional and additive,
 * so a runner that predates a field still accepts the message (and answers it normally).
 */
export const MessageControl = z.object({
  /**
   * Over a rate limit whose action is BUSY_MESSAGE: record the message, answer with exactly this
   * text and do not call the model.
   */
  busyReply: z.string().min(1).max(1000).optional(),
});
export type MessageControl = z.infer<typeof MessageControl>;

export const KonstructMessageV1 = z.object({
  v: z.literal(1),
  /** Our id for this inbound message. */
  id: Id,
  tenantId: Id,
  channel: z.object({
    kind: ChannelKind,
    connectionId: Id,
    /** Slack channel id / WhatsApp phone number id the message arrived on. */
    address: ExternalRef,
  }),
  conversation: z.object({
    /** Stable key of the conversation within the tenant, e.g. `slack:T1:C1:1732612345.000200`. */
    ref: ExternalRef,
  }),
  /** Vendor's id of this message; with tenant and channel kind it is the idempotency key. */
  externalId: ExternalRef,
  sender: z.object({
    externalId: ExternalRef,
    displayName: z.string().max(256).optional(),
  }),
  text: z.string().max(40_000),
  attachments: z.array(Attachment).max(20).default([]),
  /**
   * A choice the user made on an interactive message (WhatsApp reply button, list row, or a
   * template's quick-reply button): `text` carries the title, this keeps the stable id.
   */
  interactive: z
    .object({
      kind: z.enum(['button_reply', 'list_reply', 'quick_reply']),
      id: z.string().max(256),
      title: z.string().max(256),
      description: z.string().max(1024).optional(),
    })
    .optional(),
  thread: z.object({
    /** Where replies go: Slack thread_ts (root of the thread), WhatsApp: context message id. */
    replyTo: ExternalRef.optional(),
    /** True when the message itself is inside an existing thread. */
    inThread: z.boolean().default(false),
  }),
  receivedAt: z.string().datetime({ offset: true }),
  trace: TraceContext.optional(),
  /** Set by the bridge after the channel was normalized; absent on an ordinary message. */
  control: MessageControl.optional(),
});
export type KonstructMessageV1 = z.infer<typeof KonstructMessageV1>;
export type KonstructMessageV1Input = z.input<typeof KonstructMessageV1>;

/** What the runner publishes for a channel to deliver. Keyed by the inbound message so a redelivery never posts twice. */
export const KonstructReplyV1 = z.object({
  v: z.literal(1),
  /** Id of the outbound Message row. */
  id: Id,
  tenantId: Id,
  channel: z.object({ kind: ChannelKind, connectionId: Id, address: ExternalRef }),
  conversationId: Id,
  /** Our id of the inbound message this answers (idempotency key of the reply). */
  inReplyTo: Id,
  thread: z.object({ replyTo: ExternalRef.optional() }),
  recipient: z.object({ externalId: ExternalRef }),
  text: z.string().min(1).max(40_000),
  trace: TraceContext.optional(),
  /**
   * Absent or `reply`: the employee answering. `handoff`: the summary posted to the tenant's
   * human channel (the bridge records the post's thread on the handoff). `relay`: a person's
   * message from that thread, on its way to the customer.
   */
  purpose: z.enum(['reply', 'handoff', 'relay']).optional(),
  /** With `handoff` and `relay`: the Handoff row. */
  handoffId: Id.optional(),
});
export type KonstructReplyV1 = z.infer<typeof KonstructReplyV1>;

export type ParseFailure = { ok: false; reason: string };

/** Parses an untrusted payload, returning a readable reason instead of throwing. */
export function parseContract<T extends z.ZodType>(
  schema: T,
  payload: unknown,
): { ok: true; value: z.output<T> } | ParseFailure {
  const result = schema.safeParse(payload);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    reason: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
  };
}

export function newTraceparent(): string {
  const hex = (n: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString('hex');
  return `00-${hex(16)}-${hex(8)}-01`;
}
