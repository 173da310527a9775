import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { startWebDemo, type WebDemo } from '../../samples/web-demo/server';
import {
  chromiumPath,
  clickSuggestedAction,
  consoleHistory,
  consoleRequests,
  launchChromium,
  loopbackOnly,
  suggestedActions,
  typingShown,
  userSays,
  webChatBubbles,
  within,
  type ChatBubble,
} from '../support/demo-page';

/**
 * `npm run demo -- --web` in headless Chromium: stock Web Chat on the left, the agent console on
 * the right, driven through a whole handoff. Screenshots of each step go to
 * test-results/web-demo/; `UPDATE_DOCS_SCREENSHOT=1` also rewrites docs/web-demo.png (README).
 *
 * "On time": Web Chat holds a reply whose replyToId it never saw for 5 s, then shows it out of
 * order. Every bubble here must show up within PROMPT_MS of the action that causes it, and the
 * final transcript must equal the order the Direct Line service carried the messages in. These
 * are real clocks (a browser's), with room to spare: a held reply shows ≥ 5 s after its action,
 * an unheld one within 0.3 s of a 250 ms poll.
 */
const PROMPT_MS = 4000;
const ROOT = path.join(__dirname, '..', '..');
const SHOTS = path.join(ROOT, 'test-results', 'web-demo');

const chromium = chromiumPath();

/** Markdown makes quotes curly; compare the words. */
const plain = (text: string) => text.replace(/[“”]/g, '"').replace(/[‘’]/g, "'");
const texts = (bubbles: ChatBubble[]) => bubbles.map((b) => plain(b.text));

describe('web demo in Chromium (npm run demo -- --web)', function () {
  this.timeout(120_000);
  let demo: WebDemo | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let blocked: string[] = [];
  const pageErrors: string[] = [];

  before(async function () {
    if (chromium === undefined) {
      console.log('      (skipped: Chromium is not installed; `apt-get install -y chromium`)');
      this.skip();
    }
    mkdirSync(SHOTS, { recursive: true });
    demo = await startWebDemo();
    browser = await launchChromium(chromium);
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 680 });
    blocked = await loopbackOnly(page);
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  const shot = async (name: string, docs = false) => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    if (docs && process.env['UPDATE_DOCS_SCREENSHOT'] === '1') {
      await new Promise((resolve) => setTimeout(resolve, 1000)); // both panes finish scrolling
      await page.screenshot({ path: path.join(ROOT, 'docs', 'web-demo.png') });
    }
  };
  const chatShows = (text: string, ms = PROMPT_MS) =>
    within(
      ms,
      () => webChatBubbles(page),
      (b) => texts(b).includes(text),
      `Web Chat shows "${text}"`,
    );
  const consoleShows = (line: string) =>
    within(
      PROMPT_MS,
      () => consoleHistory(page),
      (h) => h.includes(line),
      `console shows "${line}"`,
    );
  const requestIs = (status: string) =>
    within(
      PROMPT_MS,
      () => consoleRequests(page),
      (r) => r.includes(`> Ada Lovelace · ${status}`),
      status,
    );
  const agent = async (fill: Record<string, string>, button: string) => {
    for (const [id, value] of Object.entries(fill)) await page.type(`#${id}`, value);
    await page.click(`#${button}`);
  };

  it('mirror → handoff → agent text, image, buttons → button click → close → bot again', async () => {
    await page.goto(demo!.url);
    // Web Chat's bundle loads and the bot greets the user who joined.
    await chatShows('Hi! I repeat what you say. Write "human" to talk to a person.', 20_000);

    // 1. The bot answers and the agent console mirrors both sides.
    await userSays(page, 'Hello!');
    await chatShows('Echo: Hello!');
    await consoleShows('Ada Lovelace: Hello!');
    await consoleShows('Echo Bot: Echo: Hello!');
    expect(await consoleRequests(page)).to.have.length(1);
    await shot('1-mirror');

    // 2. Handoff: the user asks for a person; Anna joins.
    await userSays(page, 'Can I talk to a human?');
    await chatShows('Connecting you to a human agent…');
    await chatShows('Anna Rossi has joined the chat.');
    await requestIs('with an agent');
    await consoleShows('Ada Lovelace: Can I talk to a human?');
    expect(await suggestedActions(page)).to.include('End chat');
    await shot('2-handoff');

    // 3. The agent types, then replies with text.
    await page.click('#typing');
    await within(
      PROMPT_MS,
      () => typingShown(page),
      (t) => t,
      'Web Chat shows Anna typing',
    );
    await agent({ 'reply-text': "Hi Ada, I'm Anna. Let me look at your parcel." }, 'send');
    await chatShows("Anna Rossi: Hi Ada, I'm Anna. Let me look at your parcel.");
    await consoleShows("Anna Rossi: Hi Ada, I'm Anna. Let me look at your parcel.");

    // 4. An image, and a question with two buttons.
    await page.click('#image-sample');
    await agent(
      {
        'reply-text': 'Here it is. Shall we deliver it tomorrow?',
        'reply-buttons': 'Tomorrow works, No thanks',
      },
      'send',
    );
    await within(
      PROMPT_MS,
      () => webChatBubbles(page),
      (b) => b.some((x) => x.images.some((src) => src.endsWith('/parcel.svg')) && x.imagesLoaded),
      'Web Chat shows the image, loaded',
    );
    await chatShows('Here it is. Shall we deliver it tomorrow?');
    await within(
      PROMPT_MS,
      () => suggestedActions(page),
      (a) => a.join('|') === 'Tomorrow works|No thanks',
      'Web Chat offers the two buttons',
    );
    await shot('4-agent-image-buttons', true);

    // 5. The user clicks a button: it reaches the agent, not the bot.
    await clickSuggestedAction(page, 'Tomorrow works');
    await chatShows('Tomorrow works');
    await consoleShows('Ada Lovelace: Tomorrow works');
    expect(texts(await webChatBubbles(page))).not.to.include('Echo: Tomorrow works');

    // 6. The agent closes; the bot is back and answers again.
    await page.click('#close');
    await chatShows("I'm back. Anything else I can repeat for you?");
    await requestIs('closed');
    // The bot's own messages after the close are mirrored into a new request.
    await within(
      PROMPT_MS,
      () => consoleRequests(page),
      (r) => r.length === 2,
      'a new request',
    );
    await userSays(page, 'Are you there?');
    await chatShows('Echo: Are you there?');
    await shot('6-bot-again');

    // Nothing held, nothing reordered: Web Chat's bubbles are the messages in the order the
    // Direct Line service carried them, and no reply pointed at an activity Web Chat never had.
    expect(demo!.directLine.conversationIds()).to.have.length(1);
    const [conversationId] = demo!.directLine.conversationIds();
    const carried = demo!.directLine
      .activities(conversationId!)
      .filter((a) => a.type === 'message')
      .map((a) =>
        plain(typeof a['text'] === 'string' ? a['text'] : '')
          .replace(/\s+/g, ' ')
          .trim(),
      );
    const shown = texts(await webChatBubbles(page));
    expect(shown).to.deep.equal(carried);
    expect(demo!.directLine.strayReplies).to.deep.equal([]);
    expect(blocked, 'requests to hosts other than 127.0.0.1').to.deep.equal([]);
    expect(pageErrors).to.deep.equal([]);
  });
});
