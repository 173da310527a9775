import type { OutgoingMessage } from '../../tiledesk/wire';
import type { ChatAttachment } from '../types';
import {
  buttonsText,
  readButtons,
  type TiledeskButton,
  toCardAction,
  toTiledeskButton,
} from './buttons';
import type { CardView } from './cards';
import { asArray, asRecord, neutralize, textOf, usableUrl } from './text';

/**
 * Carousels both ways. Tiledesk's gallery (what its chatbot sends and its widget renders,
 * `tiledesk-chatbot` TiledeskChatbotUtil, widget `carousel.component.html`) is a message of
 * `type:'gallery'` with `attributes.attachment = {type:'gallery', gallery:[{preview:{src},
 * title, description, buttons}]}`; the widget shows "Image not available" for `src: ''`.
 */
export interface GalleryItem {
  preview: { src: string };
  title: string;
  description: string;
  buttons: TiledeskButton[];
}

/**
 * Bot → Tiledesk: a carousel of hero/thumbnail cards. The text is the whole carousel written out
 * (card after card, with its buttons): the agent console shows a gallery as its text.
 */
export function toGalleryMessage(cards: readonly CardView[]): OutgoingMessage {
  const gallery: GalleryItem[] = cards.map((card) => {
    const [title = '', ...rest] = card.lines;
    return {
      preview: { src: card.image?.src ?? '' },
      title: neutralize(title),
      description: neutralize(rest.join('\n')),
      buttons: card.actions.map(toTiledeskButton),
    };
  });
  const text = gallery
    .map((item, i) => {
      const parts = [item.title || `${i + 1}.`, item.description, buttonsText(item.buttons)];
      return parts.filter(Boolean).join('\n');
    })
    .join('\n\n');
  return { type: 'gallery', text, attributes: { attachment: { type: 'gallery', gallery } } };
}

/** Tiledesk → user: a gallery's items as hero cards (shown as a carousel). */
export function galleryCards(attachment: Record<string, unknown>): ChatAttachment[] {
  const cards: ChatAttachment[] = [];
  for (const raw of asArray(attachment['gallery'])) {
    const item = asRecord(raw);
    const src = usableUrl(asRecord(item['preview'])['src']);
    const title = textOf(item['title']);
    const text = textOf(item['description']);
    const buttons = readButtons(item['buttons']).map(toCardAction);
    if (!src && !title && !text && buttons.length === 0) continue;
    cards.push({
      contentType: 'application/vnd.microsoft.card.hero',
      content: {
        ...(title && { title }),
        ...(text && { text }),
        ...(src && { images: [{ url: src }] }),
        ...(buttons.length > 0 && { buttons }),
      },
    });
  }
  return cards;
}
