import type { ChatCardAction } from '../types';
import { cardActionOf } from './buttons';
import { asArray, asRecord, lines, textOf, usableUrl } from './text';

/**
 * An Adaptive Card as an agent can read it (pure): its texts in document order (TextBlock,
 * RichTextBlock, FactSet as `title: value`, input labels, media links, through Container,
 * ColumnSet/Column, Table), its actions (Action.Submit/OpenUrl/ShowCard/Execute, in ActionSets
 * and at the end), and its images. Decorative images are left out when there is text; an image
 * is what the card shows only when nothing else is readable. With nothing readable at all, the
 * card's own `fallbackText` or `speak` (SSML tags removed) stands in.
 */
export interface AdaptiveView {
  lines: string[];
  actions: ChatCardAction[];
  /** The first image, when the card shows nothing readable but images. */
  image?: { src: string; alt?: string };
}

const MAX_DEPTH = 16;

export function describeAdaptive(content: unknown): AdaptiveView {
  const card = asRecord(content);
  const texts: string[] = [];
  const actions: ChatCardAction[] = [];
  const images: { src: string; alt?: string }[] = [];

  const addActions = (list: unknown) => {
    for (const raw of asArray(list)) {
      const action = cardActionOf(raw);
      if (action) actions.push(action);
    }
  };
  const visit = (node: unknown, depth: number): void => {
    if (depth > MAX_DEPTH || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child, depth + 1);
      return;
    }
    const el = asRecord(node);
    if (el['isVisible'] === false) return; // hidden until a ToggleVisibility
    switch (el['type']) {
      case 'TextBlock':
        texts.push(...lines(el['text']));
        return;
      case 'RichTextBlock': {
        const runs = asArray(el['inlines']).map((i) =>
          typeof i === 'string'
            ? i
            : typeof asRecord(i)['text'] === 'string'
              ? asRecord(i)['text']
              : '',
        );
        texts.push(...lines(runs.join('')));
        return;
      }
      case 'FactSet':
        for (const raw of asArray(el['facts'])) {
          const fact = asRecord(raw);
          const [title, value] = [textOf(fact['title']), textOf(fact['value'])];
          if (title || value) texts.push(title && value ? `${title}: ${value}` : (title ?? value)!);
        }
        return;
      case 'Image': {
        const src = usableUrl(el['url']);
        const alt = textOf(el['altText']);
        if (src) images.push({ src, ...(alt && { alt }) });
        return;
      }
      case 'ImageSet':
        visit(el['images'], depth + 1);
        return;
      case 'Media':
        for (const s of asArray(el['sources'])) {
          const src = usableUrl(asRecord(s)['url']);
          if (src) texts.push(src);
        }
        return;
      case 'ActionSet':
        addActions(el['actions']);
        return;
      case 'Table':
        for (const row of asArray(el['rows'])) {
          const cells = asArray(asRecord(row)['cells']).map((cell) => {
            const sub = describeAdaptive({ body: asRecord(cell)['items'] });
            return sub.lines.join(' ');
          });
          const text = cells.filter(Boolean).join(' | ');
          if (text) texts.push(text);
        }
        return;
      default:
        if (typeof el['type'] === 'string' && el['type'].startsWith('Input.')) {
          texts.push(...lines(el['label'] ?? el['title'] ?? el['placeholder']));
          for (const choice of asArray(el['choices'])) {
            texts.push(...lines(asRecord(choice)['title']).map((t) => `- ${t}`));
          }
          return;
        }
        // Container, Column, the card itself and unknown containers: their children.
        visit(el['items'], depth + 1);
        visit(el['columns'], depth + 1);
        visit(el['body'], depth + 1);
    }
  };
  visit(card['body'], 0);
  addActions(card['actions']);

  const view: AdaptiveView = { lines: texts, actions };
  if (texts.length === 0 && images[0]) view.image = images[0];
  if (texts.length === 0 && images.length === 0 && actions.length === 0) {
    const fallback = textOf(card['fallbackText']) ?? textOf(stripSsml(card['speak']));
    if (fallback) view.lines = [fallback];
  }
  return view;
}

function stripSsml(value: unknown): string | undefined {
  return typeof value === 'string'
    ? value.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ')
    : undefined;
}
