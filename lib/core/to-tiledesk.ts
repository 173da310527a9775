import type { OutgoingMessage } from '../tiledesk/wire';
import { buttonsText, clickOf, type TiledeskButton, toTiledeskButton } from './content/buttons';
import { type CardView, describeCard, isCard, isHeroLike } from './content/cards';
import { toGalleryMessage } from './content/gallery';
import { asRecord, neutralize, usableUrl } from './content/text';
import type { ChatActivity, ChatAttachment } from './types';

/**
 * Pure mapping of a Bot Framework message activity (the user's or the bot's) to the Tiledesk
 * messages that mirror it (tiledesk-api.md §3.2, §3.6; README "What each message becomes"), in
 * this order:
 * 1. one text message: the activity's text, the text of cards without an image (Adaptive,
 *    receipt, sign-in, media cards), their buttons and the suggested actions as template buttons
 *    (left out when there is nothing for it and something else follows);
 * 2. per attachment, in order: a hero/thumbnail card with an image (or an Adaptive Card that is
 *    only an image) → an `image` message with its buttons; a carousel of hero/thumbnail cards →
 *    one `gallery` message; media with a URL → `image` or `file`.
 * Every text and button label goes through `neutralize`; every message has a non-empty text.
 */

export { neutralize };

/** Marker in `attributes` of everything we post, to recognise our own webhook echoes. */
export const MIRROR_MARK = 'bf_mirror';

export function toTiledeskMessages(activity: ChatActivity): OutgoingMessage[] {
  const parts: (OutgoingMessage | 'gallery')[] = [];
  const texts: string[] = [];
  const buttons: TiledeskButton[] = [];
  if (activity.text?.trim()) texts.push(activity.text);
  else texts.push(...valueLines(activity.value));

  const attachments = activity.attachments ?? [];
  const carousel =
    activity.attachmentLayout === 'carousel' &&
    attachments.filter((a) => isHeroLike(a.contentType)).length > 1;
  const galleryCards: CardView[] = [];
  for (const attachment of attachments) {
    if (isCard(attachment.contentType)) {
      const card = describeCard(attachment.contentType, attachment.content);
      if (carousel && isHeroLike(attachment.contentType)) {
        if (galleryCards.push(card) === 1) parts.push('gallery'); // where the first card was
      } else if (card.image) parts.push(imageCard(card));
      else {
        texts.push(card.lines.join('\n'));
        buttons.push(...card.actions.map(toTiledeskButton));
      }
    } else {
      const src = usableUrl(attachment.contentUrl);
      if (src) parts.push(mediaMessage(attachment, src));
      else texts.push(`[${attachment.name ?? attachment.contentType}]`);
    }
  }
  for (const action of activity.suggestedActions?.actions ?? []) {
    buttons.push(toTiledeskButton(action));
  }
  const out = parts.map((p) => (p === 'gallery' ? toGalleryMessage(galleryCards) : p));

  const text = texts
    .filter((t) => t.trim())
    .join('\n\n')
    .trim();
  const click = clickOf(activity.value);
  if (text || buttons.length > 0 || click || out.length === 0) {
    const first = withButtons(neutralize(text), buttons);
    if (click) {
      // A click on an agent's action button, as Tiledesk's widget sends it (§3.6).
      first.attributes = { ...first.attributes, action: click.action };
      if (!click.showEcho) first.attributes['subtype'] = 'info';
    }
    out.unshift(first);
  }
  return out;
}

/** `text` with the buttons as template buttons, and their labels after it (never empty). */
function withButtons(text: string, buttons: TiledeskButton[], type?: 'image'): OutgoingMessage {
  const labels = buttonsText(buttons);
  const message: OutgoingMessage = {
    text: [text, labels].filter(Boolean).join('\n\n') || ' ',
  };
  if (type) message.type = type;
  if (buttons.length > 0) message.attributes = { attachment: { type: 'template', buttons } };
  return message;
}

function imageCard(card: CardView): OutgoingMessage {
  const src = card.image!.src;
  const text = neutralize(card.lines.join('\n')) || neutralize(card.image?.alt ?? '');
  const message = withButtons(
    text || 'Image attached',
    card.actions.map(toTiledeskButton),
    'image',
  );
  message.metadata = { src };
  return message;
}

function mediaMessage(attachment: ChatAttachment, src: string): OutgoingMessage {
  const isImage = attachment.contentType.startsWith('image/');
  const name = attachment.name || src.split('?')[0]!.split('/').pop() || 'file';
  const size = asRecord(attachment.content)['size'];
  return {
    type: isImage ? 'image' : 'file',
    // §3.2: on a new request `text` is required even for media (it becomes first_text).
    text: neutralize(isImage ? (attachment.name ?? 'Image attached') : `[${name}](${src})`),
    metadata: {
      src,
      name,
      type: attachment.contentType,
      ...(typeof size === 'number' && { size }),
    },
  };
}

/**
 * A message without text that carries a `value` (an Adaptive Card's Action.Submit): its fields as
 * `name: value` lines, so the agent sees what the user submitted. Nested values are skipped.
 */
function valueLines(value: unknown): string[] {
  const out: string[] = [];
  for (const [key, v] of Object.entries(asRecord(value))) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out.push(`${key}: ${String(v)}`);
    }
    if (out.length === 20) break;
  }
  return out.length > 0 ? [out.join('\n')] : [];
}
