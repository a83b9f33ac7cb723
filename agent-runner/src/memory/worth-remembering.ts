/**
 * What is worth remembering from what an end user wrote — simple, explainable rules rather
 * than a model call, so the decision is cheap, deterministic and testable. A sentence is kept
 * when the person states something lasting about themselves: a preference, a fact about who
 * they are, how to reach them, or an order/booking they refer to by number. Everything else is
 * skipped with a reason: greetings, thanks and other small talk; questions; momentary intents
 * ("I'd like to…", "I'm looking for…"); instructions aimed at the assistant (a stored memory is
 * shown to the model later, so it must not smuggle in commands); and secrets (card numbers,
 * passwords, one-time codes), which are never stored.
 *
 * An explicit "remember that …" is honoured unless what follows is a secret or an instruction.
 */

export type MemoryKind = 'preference' | 'profile' | 'contact' | 'order';

export type SkipReason =
  | 'empty'
  | 'too_short'
  | 'too_long'
  | 'small_talk'
  | 'question'
  | 'transient'
  | 'instruction'
  | 'sensitive'
  | 'not_about_user';

export type MemoryVerdict = { remember: true; kind: MemoryKind; text: string } | { remember: false; reason: SkipReason };

export const MAX_MEMORY_CHARS = 300;
const MIN_WORDS = 3;

const SMALL_TALK =
  /^(?:(?:hi|hello|hey|hiya|yo|howdy|good (?:morning|afternoon|evening|night)|thanks?|thank you|thx|ty|cheers|ok(?:ay)?|k|cool|great|nice|perfect|awesome|sure|yes|yeah|yep|no|nope|nah|bye|goodbye|see you|see ya|lol|haha+|hmm+|wow|sorry|no problem|np|all good|sounds good|got it|welcome)\b[\s,!.]*)+(?:(?:there|so much|a lot|again|everyone|all|mate|guys|team|for (?:your|the) help|for helping|soon|later|tomorrow)\b[\s,!.]*)*[\p{Emoji_Presentation}\s!.,:)(-]*$/iu;
const HOW_ARE_YOU = /^(?:how are you|how's it going|how are things|what's up|sup|how do you do)\b/i;
const QUESTION_START =
  /^(?:who|what|when|where|why|which|whose|how|can|could|would|will|do|does|did|is|are|am|was|were|should|shall|may|might|have|has|any|anyone)\b/i;
const REMEMBER = /^(?:(?:please|pls|can you|could you|would you|will you|kindly)\s+)*(?:remember|note|keep in mind|make a note|don't forget)\s+(?:that\s+|this:?\s+)?/i;
const INSTRUCTION =
  /\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|previous|above|rules|prompt|guidelines)\b|\bsystem prompt\b|\byou (?:must|are now|will now|have to|should always|should never)\b|\b(?:act|pretend|behave) as\b|\bnew instructions?\b|\bjailbreak\b|\bdeveloper mode\b/i;
const SECRET_WORDS =
  /\b(?:password|passcode|passphrase|pin(?: code)?|otp|one[- ]time (?:code|password)|verification code|security code|cvv|cvc|2fa code|api key|secret key|private key|seed phrase|recovery phrase|social security|ssn)\b/i;
const CARDISH = /(?:\d[ -]?){13,19}/;
const TRANSIENT =
  /^(?:i'?d like to|i would like to|i want to|i need to|i'?m (?:looking for|trying to|wondering|just|here|back|fine|good|ok|okay|great|well|not sure|confused|waiting)|i am (?:looking for|trying to|wondering|just|here|back|fine|good|waiting)|can i|could i|may i|let me|i was wondering|just wanted to)\b/i;
const DANGLING = /\b(?:it|that|this|them|these|those|one)[\s.!]*$/i;
const FIRST_PERSON = /\b(?:i|i'm|i am|i've|i'd|i'll|my|mine|me|we|our|we're)\b/i;
const ORDER = /\b(?:order|booking|reservation|invoice|ticket|tracking(?: number)?|parcel|package|shipment|subscription|account number|case)\b/i;
const REFERENCE = /(?:#\s?[A-Z0-9-]{3,}|\b[A-Z]{0,4}-?\d{4,}[A-Z0-9-]*\b)/i;
const CONTACT = /\b(?:my (?:e-?mail|email address|phone(?: number)?|mobile(?: number)?|number|address|home address|postcode|zip code|whatsapp)|call me (?:at|on)|reach me (?:at|on)|text me (?:at|on))\b|[\w.+-]+@[\w-]+\.[\w.]+/i;
const PREFERENCE =
  /\b(?:prefer|prefers|preferred|like|likes|love|loves|enjoy|enjoys|hate|hates|dislike|dislikes|don't like|do not like|can't stand|cannot stand|favou?rite|rather|allergic|intolerant|vegan|vegetarian|always|never|usually|only (?:drink|eat|use|want))\b/i;
const PROFILE =
  /\b(?:my name is|call me|i am an?|i'm an?|i am the|i'm the|i live|i'm from|i am from|i work|i moved|i was born|i have (?:an?|two|three|\d+)|i've got|i own|i speak|my (?:birthday|company|job|role|team|wife|husband|partner|kids?|children|son|daughter|dog|cat|home|office|size|timezone|time zone|pronouns))\b/i;

function words(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

/** Luhn check: a 13–19 digit run that passes it is treated as a payment card number. */
function looksLikeCard(s: string): boolean {
  const m = s.match(CARDISH);
  if (!m) return false;
  const digits = m[0].replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function classify(s: string): MemoryKind | null {
  if (ORDER.test(s) && REFERENCE.test(s)) return 'order';
  if (CONTACT.test(s)) return 'contact';
  if (!FIRST_PERSON.test(s)) return null;
  if (PREFERENCE.test(s)) return 'preference';
  if (PROFILE.test(s)) return 'profile';
  return null;
}

/** The verdict on one sentence. */
export function assessSentence(raw: string): MemoryVerdict {
  let s = raw.replace(/\s+/g, ' ').trim();
  if (!s) return { remember: false, reason: 'empty' };
  if (s.length > MAX_MEMORY_CHARS) return { remember: false, reason: 'too_long' };
  if (SECRET_WORDS.test(s) || looksLikeCard(s)) return { remember: false, reason: 'sensitive' };
  if (INSTRUCTION.test(s)) return { remember: false, reason: 'instruction' };

  const explicit = REMEMBER.exec(s);
  if (explicit) {
    s = s.slice(explicit[0].length).replace(/[?]+$/, '').trim();
    if (words(s) < 2) return { remember: false, reason: 'too_short' };
    return { remember: true, kind: classify(s) ?? 'profile', text: s.charAt(0).toUpperCase() + s.slice(1) };
  }

  if (SMALL_TALK.test(s) || HOW_ARE_YOU.test(s)) return { remember: false, reason: 'small_talk' };
  if (s.endsWith('?') || QUESTION_START.test(s)) return { remember: false, reason: 'question' };
  // Too short to mean anything out of context ("I like it": like what?).
  if (words(s) < MIN_WORDS || (words(s) <= 4 && DANGLING.test(s))) return { remember: false, reason: 'too_short' };
  if (TRANSIENT.test(s)) return { remember: false, reason: 'transient' };
  const kind = classify(s);
  return kind ? { remember: true, kind, text: s } : { remember: false, reason: 'not_about_user' };
}

/** Sentences of a message: split after . ! ? (not inside numbers like 3.5) and at line breaks. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=\S)|\n+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

export interface MemoryCandidate {
  kind: MemoryKind;
  text: string;
}

/** What to remember from one message of the end user: at most `max`, no repeats. */
export function memoriesFrom(text: string, max = 5): MemoryCandidate[] {
  const out: MemoryCandidate[] = [];
  const seen = new Set<string>();
  for (const s of sentences(text)) {
    const v = assessSentence(s);
    if (!v.remember) continue;
    const key = v.text.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ kind: v.kind, text: v.text });
    if (out.length >= max) break;
  }
  return out;
}
