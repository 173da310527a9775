import type { ChatCardAction } from '../types';
import { asArray, asRecord, neutralize, textOf } from './text';

/**
 * Buttons both ways (tiledesk-api.md §3.6). A Tiledesk button is `{type:'text', value}` (a click
 * sends `value` as the user's message), `{type:'url', value, link, target}` or
 * `{type:'action', value, action, show_echo}` (a click sends `value` with `attributes.action`).
 * A Bot Framework button is a `CardAction`.
 */
export interface TiledeskButton {
  type: 'text' | 'url' | 'action';
  value: string;
  link?: string;
  target?: string;
  action?: string;
  show_echo?: boolean;
}

/** Card actions whose string value is a link the user opens. */
const LINK_ACTIONS = new Set([
  'openUrl',
  'signin',
  'downloadFile',
  'playAudio',
  'playVideo',
  'showImage',
  'call',
]);

/** Bot → Tiledesk: a card action as the agent sees it (a link, or a reply the user could send). */
export function toTiledeskButton(action: ChatCardAction): TiledeskButton {
  const link = typeof action.value === 'string' ? action.value : undefined;
  const label = neutralize(
    textOf(action.title) ??
      textOf(action.displayText) ??
      textOf(action.text) ??
      textOf(link) ??
      action.type,
  );
  if (link && LINK_ACTIONS.has(action.type)) {
    return { type: 'url', value: label, link, target: 'blank' };
  }
  return { type: 'text', value: label };
}

/** A card's raw button (hero `buttons[]`, Adaptive Card `actions[]`) as a `CardAction`. */
export function cardActionOf(raw: unknown): ChatCardAction | undefined {
  const o = asRecord(raw);
  const type = typeof o['type'] === 'string' ? o['type'] : 'imBack';
  if (type === 'Action.ToggleVisibility') return undefined; // a layout switch, not a reply
  const title = textOf(o['title']);
  if (type === 'Action.OpenUrl')
    return { type: 'openUrl', value: o['url'], ...(title && { title }) };
  const action: ChatCardAction = { type, value: o['value'] ?? o['data'] };
  if (title) action.title = title;
  for (const field of ['text', 'displayText'] as const) {
    const value = textOf(o[field]);
    if (value) action[field] = value;
  }
  return action;
}

/** How buttons read in a text: `[Yes] [No]`. */
export function buttonsText(buttons: readonly { value: string }[]): string {
  return buttons.map((b) => `[${b.value}]`).join(' ');
}

/** Tiledesk → user: the valid buttons of a raw `buttons` array (others are skipped). */
export function readButtons(raw: unknown): TiledeskButton[] {
  const out: TiledeskButton[] = [];
  for (const item of asArray(raw)) {
    const b = asRecord(item);
    const value = textOf(b['value']);
    if (!value) continue;
    // Only links a user can safely open (never `javascript:`); others become plain replies.
    const href = textOf(b['link']);
    const link = href && /^(https?:|mailto:|tel:)/i.test(href) ? href : undefined;
    const action = textOf(b['action']);
    if (b['type'] === 'url' && link) out.push({ type: 'url', value, link });
    else if (b['type'] === 'action' && action) {
      out.push({ type: 'action', value, action, show_echo: b['show_echo'] !== false });
    } else out.push({ type: 'text', value });
  }
  return out;
}

/**
 * Tiledesk → user: the closest card action. A text button is an `imBack` (the label comes back
 * as the user's message, as Tiledesk's widget sends it); a url button opens its link; an action
 * button is a `messageBack` whose click carries the action in `value` (see `clickOf`), shown in
 * the user's transcript only when `show_echo` is not false.
 */
export function toCardAction(button: TiledeskButton): ChatCardAction {
  const { value } = button;
  if (button.type === 'url') return { type: 'openUrl', title: value, value: button.link };
  if (button.type === 'text') return { type: 'imBack', title: value, value };
  const echo = button.show_echo !== false;
  return {
    type: 'messageBack',
    title: value,
    text: value,
    ...(echo && { displayText: value }),
    value: { [CLICK_KEY]: { action: button.action, ...(!echo && { show_echo: false }) } },
  };
}

/** Where a click on an agent's action button carries the action: `value.tiledesk`. */
export const CLICK_KEY = 'tiledesk';

/** The action of a click on an agent's action button, from the click's `value`. */
export function clickOf(value: unknown): { action: string; showEcho: boolean } | undefined {
  const click = asRecord(asRecord(value)[CLICK_KEY]);
  const action = textOf(click['action']);
  return action ? { action, showEcho: click['show_echo'] !== false } : undefined;
}
