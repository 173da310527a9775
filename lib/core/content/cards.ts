import type { ChatCardAction } from '../types';
import { describeAdaptive } from './adaptive';
import { cardActionOf } from './buttons';
import { asArray, asRecord, lines, textOf, usableUrl } from './text';

/**
 * A Bot Framework card as an agent can read it (pure): its lines of text, its actions, and the
 * image it shows (hero and thumbnail cards; an Adaptive Card that is only an image).
 */
export interface CardView {
  lines: string[];
  actions: ChatCardAction[];
  image?: { src: string; alt?: string };
}

export const HERO = 'application/vnd.microsoft.card.hero';
export const THUMBNAIL = 'application/vnd.microsoft.card.thumbnail';
const CARD = 'application/vnd.microsoft.card.';

export function isCard(contentType: string): boolean {
  return contentType.startsWith(CARD);
}

/** Hero and thumbnail cards: the cards a carousel is made of. */
export function isHeroLike(contentType: string): boolean {
  return contentType === HERO || contentType === THUMBNAIL;
}

export function describeCard(contentType: string, content: unknown): CardView {
  const card = asRecord(content);
  const kind = contentType.slice(CARD.length);
  if (kind === 'adaptive') return describeAdaptive(content);
  const actions = actionsOf(card['buttons']);
  switch (kind) {
    case 'hero':
    case 'thumbnail': {
      const view: CardView = {
        lines: lines(card['title'], card['subtitle'], card['text']),
        actions,
      };
      const image = asRecord(asArray(card['images'])[0]);
      const src = usableUrl(image['url']);
      const alt = textOf(image['alt']);
      if (src) view.image = { src, ...(alt && { alt }) };
      return view;
    }
    case 'receipt':
      return { lines: receiptLines(card), actions };
    case 'animation':
    case 'audio':
    case 'video': {
      // The media as links: a console shows a link, never a player.
      const media = asArray(card['media'])
        .map((m) => usableUrl(asRecord(m)['url']))
        .filter((u): u is string => u !== undefined);
      const text = lines(card['title'], card['subtitle'], card['text'], ...media);
      return { lines: text.length > 0 ? text : [`[${kind}]`], actions };
    }
    default: {
      // signin, oauth and any other card: its text and buttons (a sign-in link is a url button).
      const text = lines(card['title'], card['subtitle'], card['text']);
      return { lines: text.length > 0 || actions.length > 0 ? text : [`[${kind} card]`], actions };
    }
  }
}

function actionsOf(list: unknown): ChatCardAction[] {
  return asArray(list)
    .map(cardActionOf)
    .filter((a): a is ChatCardAction => a !== undefined);
}

/** A receipt: title, facts, items with their prices, then tax, VAT and total. */
function receiptLines(card: Record<string, unknown>): string[] {
  const out = lines(card['title']);
  for (const raw of asArray(card['facts'])) {
    const fact = asRecord(raw);
    const [key, value] = [textOf(fact['key']), textOf(fact['value'])];
    if (key && value) out.push(`${key}: ${value}`);
  }
  for (const raw of asArray(card['items'])) {
    const item = asRecord(raw);
    const name = [textOf(item['title']), textOf(item['subtitle'])].filter(Boolean).join(', ');
    const quantity = textOf(String(item['quantity'] ?? ''));
    const price = textOf(item['price']);
    const text = [quantity && `${quantity} ×`, name, price && `: ${price}`].filter(Boolean);
    if (name || price) out.push(text.join(' ').replace(' :', ':'));
  }
  for (const field of ['tax', 'vat', 'total']) {
    const value = textOf(card[field]);
    if (value)
      out.push(`${field === 'vat' ? 'VAT' : field[0]!.toUpperCase() + field.slice(1)}: ${value}`);
  }
  return out;
}
