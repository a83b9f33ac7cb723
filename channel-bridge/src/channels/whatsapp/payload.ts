/**
 * The parts of a WhatsApp Business Cloud API webhook we read (`object: whatsapp_business_account`,
 * `field: messages`). Everything is optional because the body is vendor input: code checks what
 * it uses.
 */
export interface WaWebhook {
  object?: string;
  entry?: WaEntry[];
}

export interface WaEntry {
  /** WhatsApp Business Account id. */
  id?: string;
  changes?: WaChange[];
}

export interface WaChange {
  field?: string;
  value?: WaValue;
}

export interface WaValue {
  messaging_product?: string;
  metadata?: { display_phone_number?: string; phone_number_id?: string };
  contacts?: { profile?: { name?: string }; wa_id?: string }[];
  messages?: WaMessage[];
  statuses?: WaStatus[];
  errors?: WaError[];
}

export interface WaMedia {
  id?: string;
  mime_type?: string;
  sha256?: string;
  caption?: string;
  filename?: string;
  voice?: boolean;
  animated?: boolean;
}

export interface WaMessage {
  from?: string;
  id?: string;
  timestamp?: string;
  type?: string;
  context?: { from?: string; id?: string; forwarded?: boolean; frequently_forwarded?: boolean };
  text?: { body?: string };
  image?: WaMedia;
  document?: WaMedia;
  audio?: WaMedia;
  video?: WaMedia;
  sticker?: WaMedia;
  location?: { latitude?: number; longitude?: number; name?: string; address?: string; url?: string };
  reaction?: { message_id?: string; emoji?: string };
  interactive?: {
    type?: string;
    button_reply?: { id?: string; title?: string };
    list_reply?: { id?: string; title?: string; description?: string };
  };
  /** A template's quick-reply button. */
  button?: { payload?: string; text?: string };
  contacts?: { name?: { formatted_name?: string }; phones?: { phone?: string; wa_id?: string }[] }[];
  system?: { body?: string; type?: string };
  errors?: WaError[];
}

export interface WaStatus {
  /** The wamid of the message this status is about. */
  id?: string;
  status?: string;
  timestamp?: string;
  recipient_id?: string;
  /** Echo of what we sent with the message: our reply ids (see outbound/whatsapp-callback.ts). */
  biz_opaque_callback_data?: string;
  errors?: WaError[];
}

export interface WaError {
  code?: number;
  title?: string;
  message?: string;
  error_data?: { details?: string };
}
