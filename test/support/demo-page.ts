/**
 * Reading and driving the web demo's page (samples/web-demo/static) in Chromium through
 * puppeteer-core. The in-page code is passed as strings: the project compiles without the DOM
 * library, and these few lines are all that needs it.
 */
import { execFileSync } from 'node:child_process';
import type { Browser, HTTPRequest, Page } from 'puppeteer-core';
import puppeteer from 'puppeteer-core';

/** One rendered Web Chat activity, in DOM (display) order. */
export interface ChatBubble {
  /** The text bubbles' text, whitespace collapsed; '' for an attachment alone. */
  text: string;
  /** `src` of each image attachment. */
  images: string[];
  /** Whether every image has loaded (a broken image has no natural width). */
  imagesLoaded: boolean;
  fromUser: boolean;
}

/** Debian's `chromium`, or undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
    return found === '' ? undefined : found;
  } catch {
    return undefined;
  }
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(executablePath: string): Promise<Browser> {
  return puppeteer.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Aborts every request to a host other than 127.0.0.1 and lists it in the returned array. */
export async function loopbackOnly(page: Page): Promise<string[]> {
  const blocked: string[] = [];
  await page.setRequestInterception(true);
  page.on('request', (request: HTTPRequest) => {
    const url = new URL(request.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1') {
      void request.continue();
    } else {
      blocked.push(request.url());
      void request.abort();
    }
  });
  return blocked;
}

const READ_BUBBLES = `Array.from(document.querySelectorAll('#webchat .webchat__basic-transcript__activity')).map((a) => {
  const imgs = Array.from(a.querySelectorAll('img')).filter((i) => !i.closest('.webchat__avatar'));
  return {
    text: Array.from(a.querySelectorAll('.webchat__text-content')).map((t) => t.innerText).join(' ').replace(/\\s+/g, ' ').trim(),
    images: imgs.map((i) => i.getAttribute('src') || ''),
    imagesLoaded: imgs.every((i) => i.complete && i.naturalWidth > 0),
    fromUser: !!a.querySelector('.webchat__stacked-layout--from-user'),
  };
})`;

export async function webChatBubbles(page: Page): Promise<ChatBubble[]> {
  return (await page.evaluate(READ_BUBBLES)) as ChatBubble[];
}

/** The labels of Web Chat's suggested actions on screen. */
export async function suggestedActions(page: Page): Promise<string[]> {
  return (await page.evaluate(
    `Array.from(document.querySelectorAll('#webchat .webchat__suggested-action')).map((b) => b.innerText.trim())`,
  )) as string[];
}

export async function typingShown(page: Page): Promise<boolean> {
  return (await page.evaluate(
    `!!document.querySelector('#webchat .webchat__typing-indicator')`,
  )) as boolean;
}

/** The agent console's history as "sender: text" lines. */
export async function consoleHistory(page: Page): Promise<string[]> {
  return (await page.evaluate(
    `Array.from(document.querySelectorAll('#history .msg')).map((m) => m.querySelector('.sender').innerText + ': ' + m.querySelector('.text').innerText)`,
  )) as string[];
}

/** The requests list as "user · status" lines, newest first; the selected one starts with "> ". */
export async function consoleRequests(page: Page): Promise<string[]> {
  return (await page.evaluate(
    `Array.from(document.querySelectorAll('#requests li[data-id]')).map((r) => (r.classList.contains('selected') ? '> ' : '') + r.querySelector('.who').innerText + ' · ' + r.querySelector('.status').innerText)`,
  )) as string[];
}

export async function userSays(page: Page, text: string): Promise<void> {
  await page.type('#webchat [data-id="webchat-sendbox-input"]', text);
  await page.keyboard.press('Enter');
}

/** Clicks the suggested action labelled `label` (a real mouse click). */
export async function clickSuggestedAction(page: Page, label: string): Promise<void> {
  const marked = (await page.evaluate(
    `(() => { const b = Array.from(document.querySelectorAll('#webchat .webchat__suggested-action')).find((b) => b.innerText.trim() === ${JSON.stringify(label)}); if (b) b.setAttribute('data-test-pick', '1'); return !!b; })()`,
  )) as boolean;
  if (!marked) throw new Error(`no suggested action "${label}" on screen`);
  await page.click('[data-test-pick="1"]');
}

/**
 * Polls `read` until `accept` holds; resolves with how long it took. Rejects after `withinMs`
 * with the last value read, so a failure shows what the page had.
 */
export async function within<T>(
  withinMs: number,
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  what: string,
): Promise<number> {
  const started = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (accept(last)) return Date.now() - started;
    if (Date.now() - started > withinMs) {
      throw new Error(
        `not within ${withinMs} ms: ${what}; the page shows ${JSON.stringify(last, null, 1)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
