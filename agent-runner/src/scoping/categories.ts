/**
 * Requests Meta's 2026 WhatsApp terms mean a business's agent must not take on: the kinds of
 * thing people ask a general-purpose assistant. Each category is a set of patterns over the
 * normalized message (lowercase, accents removed, whitespace collapsed).
 *
 * - `coveredBy`: words that, in the agent's business functions, make the category part of the
 *   business (a tutoring service may help with homework). Empty: never part of a business.
 * - `soft`: the patterns are broad enough to catch questions about the business itself ("who
 *   founded the bakery?"), so a message that shares content words with the business functions
 *   is in scope. Firm categories ("write a poem about your bread") are refused regardless.
 */
export const SCOPE_CATEGORIES = [
  'general_assistant',
  'creative_writing',
  'homework',
  'coding',
  'translation',
  'general_knowledge',
] as const;
export type ScopeCategory = (typeof SCOPE_CATEGORIES)[number];

export interface CategoryRule {
  category: ScopeCategory;
  /** What the category is, for audit readers and logs. */
  description: string;
  patterns: RegExp[];
  coveredBy: string[];
  soft: boolean;
}

// Checked in this order; the first matching category is reported. Patterns are deliberately
// narrow: refusing a real customer ("can you explain the dress code?") costs more than the
// occasional borderline request the model then answers within the prompt's scoping rules.
const CREATIVE = '(poems?|poetry|haikus?|sonnets?|limericks?|stor(y|ies)|fairy ?tales?|bedtime stor(y|ies)|novels?|songs?|lyrics|raps?|verses?|jokes?|screenplays?|fan ?fiction|riddles?|love letters?)';

export const CATEGORY_RULES: readonly CategoryRule[] = [
  {
    category: 'general_assistant',
    description: 'asks the agent to be a general-purpose assistant, or to drop its role',
    patterns: [
      /\b(be|become|act as|work as|serve as)\s+(my|a|an|your)\s+(own\s+)?(personal\s+|general\s+|virtual\s+|ai\s+)*(assistant|chat ?bot|ai|secretary|butler|friend|girlfriend|boyfriend|companion|therapist|life coach)\b/,
      /\b(you are now|from now on,? you|pretend (to be|you are|you're)|role ?play|let's play a game where you)\b/,
      /\bignore (all |any |your |the )?(previous|prior|above|earlier|system) (instructions|rules|prompts?|messages?)\b/,
      /\b(chat ?gpt|gpt-?\d|general[- ]purpose (ai|assistant|chat ?bot)|jailbreak|dan mode|developer mode)\b/,
      /\b(help|assist) (me )?with (anything|everything|whatever)\b/,
      /\b(anything|everything|whatever) (i|we) (ask|want|need|say)\b/,
    ],
    coveredBy: [],
    soft: false,
  },
  {
    category: 'creative_writing',
    description: 'poems, stories, songs, jokes and other creative writing',
    patterns: [
      new RegExp(`\\b(write|compose|make up|generate|draft|come up with|create|sing)( me| us)?( [\\w'-]+){0,3} ${CREATIVE}\\b`),
      new RegExp(`\\btell (me|us) (a|an|another|one more|some)( \\w+){0,2} (stor(y|ies)|jokes?|fairy ?tales?|riddles?|poems?)\\b`),
      /\b(rhymes with|in rhyme|in the style of (shakespeare|a poem|a song))\b/,
    ],
    coveredBy: ['poem', 'poetry', 'story', 'storytelling', 'copywriting', 'creative', 'song', 'lyric', 'ghostwriting', 'verse'],
    soft: false,
  },
  {
    category: 'homework',
    description: 'homework, essays, exam questions and school exercises',
    patterns: [
      /\b(homework|coursework|worksheet|term paper|book report|dissertation)\b/,
      /\b(my|an|this|the|school|college|class) (assignment|essay|thesis)\b/,
      /\b(essay|thesis) (on|about)\b/,
      /\b(for|in) my (exam|test|quiz|class|course|teacher|professor)\b/,
      /\bexam questions?\b/,
      /\b(solve|simplify|factori[sz]e|differentiate|integrate|prove)\b.{0,40}\b(equations?|for [a-z]|expressions?|integrals?|derivatives?|theorems?)\b/,
      /\b(what is|what's|calculate|compute|how much is)\s+-?\d+(\.\d+)?\s*(\+|\*|x|×|\/|÷|\^|times|plus|minus|divided by)\s*-?\d+/,
      /\b(summari[sz]e|analy[sz]e|interpret)\b.{0,40}\b(chapter|novel|poem|passage)\b/,
    ],
    coveredBy: ['tutor', 'tutoring', 'homework', 'education', 'school', 'lesson', 'course', 'academic', 'exam', 'student', 'learning', 'teaching'],
    soft: false,
  },
  {
    category: 'coding',
    description: 'writing, explaining or debugging code',
    patterns: [
      /\b(write|debug|fix|generate|refactor|optimi[sz]e|convert)\b.{0,40}\b(function|script|program|regex|regular expression|sql query|algorithm|code snippet|source code|piece of code|unit tests?)\b/,
      /\b(python|javascript|typescript|c\+\+|c#|golang|php|kotlin|html|css|sql|bash|powershell|node\.?js)\b.{0,40}\b(code|function|script|program|error|snippet|example|loop|class|query)\b/,
      /```/,
      /\b(stack ?trace|syntax error|compil(e|er) error|null pointer|segfault|exception in thread)\b/,
    ],
    coveredBy: ['software', 'code', 'coding', 'api', 'developer', 'programming', 'integration', 'sdk', 'technical', 'devops', 'plugin', 'app'],
    soft: true,
  },
  {
    category: 'translation',
    description: 'translating text between languages',
    patterns: [/\btranslat(e|ion|ing)\b.{0,60}\b(in|into|to|from) [a-z]+/, /\bhow (do you|do i|to) say\b.{0,40}\bin [a-z]+\b/],
    coveredBy: ['translation', 'translating', 'interpreting', 'language', 'localization'],
    soft: false,
  },
  {
    category: 'general_knowledge',
    description: 'general trivia and knowledge questions unrelated to the business',
    patterns: [
      /\b(capital|population|currency|president|prime minister|king|queen|national anthem) of\b/,
      /\bwho (invented|discovered|wrote|painted|composed|founded|was the first|is the richest)\b/,
      /\bwho won (the )?(world cup|super bowl|election|oscars?|nobel|championship|war|euros?|olympics|premier league|champions league)\b/,
      /\b(tallest|largest|biggest|longest|smallest|deepest|oldest|highest|fastest)\b.{0,30}\b(in the world|on earth|ever|in history|mountain|river|ocean|country|planet|animal|building)\b/,
      /\bwhen (did|was|were)\b.{0,40}\b(war|born|die|died|invented|discovered|signed|landed)\b/,
      /\b(fun fact|trivia|random fact)\b/,
      /\bhow (far|old|big|hot|cold|deep|heavy) (is|are) (the )?(moon|sun|earth|mars|universe|ocean|everest|stars?|planets?)\b/,
      /\bmeaning of life\b/,
      /\b(speed|distance) (of|to|between)\b.{0,20}\b(light|sound|moon|sun|earth|mars)\b/,
      /\b(explain|tell me about|what is|what are|what's)\b.{0,20}\b(quantum|relativity|black holes?|photosynthesis|evolution|dna|the big bang|world war|the roman empire|climate change|blockchain)\b/,
      /\b(who|what) (is|was) (the )?(best|greatest) (footballer|player|band|singer|movie|film|book|team)\b/,
      /\b(what's|what is|how's|how is) the weather\b/,
    ],
    coveredBy: ['trivia', 'quiz', 'encyclopedia', 'museum', 'weather'],
    soft: true,
  },
];

/** The message as the patterns see it. */
export function normalizeForPatterns(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[’‘´]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}
