import type { OutgoingMessage } from '../tiledesk/wire';
import type { ChatActivity, ChatAttachment, ChatCardAction } from './types';

/**
 * Pure mapping of a Bot Framework message activity to the Tiledesk messages that mirror it
 * (tiledesk-api.md §3.2, §3.6): one text message, plus one `image`/`file` message per media
 * attachment; cards and suggested actions become readable text (and Tiledesk buttons).
 */

/** Marker in `attributes` of everything we post, to recognise our own webhook echoes. */
export const MIRROR_MARK = 'bf_mirror';

/**
 * Makes text inert for Tiledesk: a backslash before `agent`/`close` would run the `\agent` /
 * `\close` command (§4.1) and `${KEY}` would be replaced by a project label (§3.6). The
 * look-alike U+29F5 and a zero-width space keep the text readable for the agent.
 */
export function neutralize(text: string): string {
  return text.replace(/\\(?=\s*(agent|close))/gi, '\u29F5').replace(/\$\{/g, '$\u200B{');
}

const CARD_TYPES: Record<string, true> = {
  'application/vnd.microsoft.card.hero': true,
  'application/vnd.microsoft.card.thumbnail': true,
  'application/vnd.microsoft.card.adaptive': true,
  'application/vnd.microsoft.card.signin': true,
  'application/vnd.microsoft.card.oauth': true,
  'application/vnd.microsoft.card.receipt': true,
  'application/vnd.microsoft.card.animation': true,
  'application/vnd.microsoft.card.audio': true,
  'application/vnd.microsoft.card.video': true,
};

export function toTiledeskMessages(activity: ChatActivity): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  const lines: string[] = [];
  const buttons: { type: 'text' | 'url'; value: string; link?: string }[] = [];
  if (activity.text) lines.push(activity.text);

  for (const attachment of activity.attachments ?? []) {
    if (CARD_TYPES[attachment.contentType]) {
      const card = describeCard(attachment.content);
      if (card.text) lines.push(card.text);
      buttons.push(...card.buttons);
    } else if (attachment.contentUrl && !/^data:/i.test(attachment.contentUrl)) {
      out.push(mediaMessage(attachment, attachment.contentUrl));
    } else {
      lines.push(`[${attachment.name ?? attachment.contentType}]`);
    }
  }
  for (const action of activity.suggestedActions?.actions ?? []) buttons.push(toButton(action));

  const text = lines.join('\n\n').trim();
  if (text || buttons.length > 0 || out.length === 0) {
    const message: OutgoingMessage = { text: neutralize(text || buttonsText(buttons) || ' ') };
    if (buttons.length > 0) {
      message.attributes = { attachment: { type: 'template', buttons } };
      if (text) message.text = neutralize(`${text}\n\n${buttonsText(buttons)}`);
    }
    out.unshift(message);
  }
  return out;
}

function mediaMessage(attachment: ChatAttachment, src: string): OutgoingMessage {
  const isImage = attachment.contentType.startsWith('image/');
  const name = attachment.name || src.split('?')[0]!.split('/').pop() || 'file';
  return {
    type: isImage ? 'image' : 'file',
    // §3.2: on a new request `text` is required even for media (it becomes first_text).
    text: neutralize(isImage ? (attachment.name ?? 'Image attached') : `[${name}](${src})`),
    metadata: { src, name, type: attachment.contentType },
  };
}

function buttonsText(buttons: { value: string }[]): string {
  return buttons.map((b) => `[${b.value}]`).join(' ');
}

function toButton(action: ChatCardAction): { type: 'text' | 'url'; value: string; link?: string } {
  const title = action.title ?? (typeof action.value === 'string' ? action.value : action.type);
  if (action.type === 'openUrl' && typeof action.value === 'string') {
    return { type: 'url', value: title, link: action.value };
  }
  return { type: 'text', value: title };
}

/** Hero/thumbnail/adaptive cards to readable text; enough for an agent to follow. */
function describeCard(content: unknown): { text: string; buttons: ReturnType<typeof toButton>[] } {
  const texts: string[] = [];
  const buttons: ReturnType<typeof toButton>[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 8 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child, depth + 1);
      return;
    }
    const obj = node as Record<string, unknown>;
    if (typeof obj['title'] === 'string' && typeof obj['value'] === 'string' && !isAction(obj)) {
      texts.push(`${obj['title']}: ${obj['value']}`); // a fact
      return;
    }
    for (const field of ['title', 'subtitle', 'text']) {
      const value = obj[field];
      if (typeof value === 'string' && value.trim() && !isAction(obj)) texts.push(value.trim());
    }
    for (const field of ['buttons', 'actions']) {
      const list = obj[field];
      if (Array.isArray(list)) {
        for (const a of list) if (a && typeof a === 'object') buttons.push(toButton(cardAction(a)));
      }
    }
    for (const field of ['body', 'items', 'columns', 'facts']) visit(obj[field], depth + 1);
  };
  visit(content, 0);
  return { text: texts.join('\n'), buttons };
}

function isAction(obj: Record<string, unknown>): boolean {
  return (
    typeof obj['type'] === 'string' &&
    /^(Action\.|imBack|postBack|openUrl|messageBack)/.test(obj['type'])
  );
}

function cardAction(a: object): ChatCardAction {
  const o = a as Record<string, unknown>;
  const type = String(o['type'] ?? 'imBack');
  const value = type === 'Action.OpenUrl' ? o['url'] : (o['value'] ?? o['data']);
  return {
    type: type === 'Action.OpenUrl' ? 'openUrl' : type,
    title: typeof o['title'] === 'string' ? o['title'] : undefined,
    value,
  };
}
