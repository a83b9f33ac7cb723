import { describe, expect, it } from 'vitest';
import { markdownToMrkdwn } from './slack-mrkdwn.ts';

describe('markdownToMrkdwn', () => {
  it('converts emphasis: **bold** and __bold__ to *bold*, *italic* to _italic_, ~~strike~~ to ~strike~', () => {
    expect(markdownToMrkdwn('**Open** on __Saturday__, *not* Sunday, ~~closed~~ open')).toBe(
      '*Open* on *Saturday*, _not_ Sunday, ~closed~ open',
    );
    expect(markdownToMrkdwn('_already italic_ stays')).toBe('_already italic_ stays');
    expect(markdownToMrkdwn('**bold with *italic* inside**')).toBe('*bold with _italic_ inside*');
  });

  it('leaves arithmetic, snake_case and lone asterisks alone', () => {
    expect(markdownToMrkdwn('2 * 3 * 4 = 24')).toBe('2 * 3 * 4 = 24');
    expect(markdownToMrkdwn('call snake__case__name now')).toBe('call snake__case__name now');
    expect(markdownToMrkdwn('a*b*c')).toBe('a*b*c');
  });

  it('rewrites links and images as <url|text>, autolinks as <url>', () => {
    expect(markdownToMrkdwn('See [our menu](https://bakery.example/menu?a=1&b=2) or <https://bakery.example>.')).toBe(
      'See <https://bakery.example/menu?a=1&amp;b=2|our menu> or <https://bakery.example>.',
    );
    expect(markdownToMrkdwn('![logo](https://cdn.example/logo.png)')).toBe('<https://cdn.example/logo.png|logo>');
    expect(markdownToMrkdwn('**[bold link](https://x.example)**')).toBe('*<https://x.example|bold link>*');
    expect(markdownToMrkdwn('[a|b](https://x.example)')).toBe('<https://x.example|a│b>');
  });

  it('turns headings into bold lines and bullets into •, nested ones indented', () => {
    const md = ['# Opening hours', '', '- Monday: 8–18', '* Tuesday', '  - morning only', '+ Wednesday', '1. first', '- [x] done'].join('\n');
    expect(markdownToMrkdwn(md)).toBe(
      ['*Opening hours*', '', '• Monday: 8–18', '• Tuesday', '    ◦ morning only', '• Wednesday', '1. first', '• ☑ done'].join('\n'),
    );
    expect(markdownToMrkdwn('## **Already bold** heading ##')).toBe('*Already bold heading*');
  });

  it('escapes &, < and > everywhere, code included, and keeps quotes as quotes', () => {
    expect(markdownToMrkdwn('Tom & Jerry <3 a>b')).toBe('Tom &amp; Jerry &lt;3 a&gt;b');
    expect(markdownToMrkdwn('> quoted **text**')).toBe('&gt; quoted *text*');
  });

  it('keeps code spans and blocks untouched apart from escaping, dropping the language tag', () => {
    expect(markdownToMrkdwn('Run `npm i **x** <y>` then')).toBe('Run `npm i **x** &lt;y&gt;` then');
    const md = ['Example:', '```ts', 'const a = **b** * c; // [x](y)', '  if (a < b && c) {}', '```', 'after **bold**'].join('\n');
    expect(markdownToMrkdwn(md)).toBe(
      ['Example:', '```', 'const a = **b** * c; // [x](y)', '  if (a &lt; b &amp;&amp; c) {}', '```', 'after *bold*'].join('\n'),
    );
    // Unterminated fence: code to the end, closed for Slack.
    expect(markdownToMrkdwn('```\n# not a heading')).toBe('```\n# not a heading\n```');
    expect(markdownToMrkdwn('~~~\n- not a bullet\n~~~')).toBe('```\n- not a bullet\n```');
  });

  it('keeps user and channel mentions but never lets a reply broadcast', () => {
    expect(markdownToMrkdwn('Ask <@U0123ABC> in <#C0456DEF|general>')).toBe('Ask <@U0123ABC> in <#C0456DEF|general>');
    expect(markdownToMrkdwn('<!channel> <!here> <!everyone>')).toBe('&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;');
  });
});
