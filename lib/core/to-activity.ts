import type { TiledeskMessage } from '../tiledesk/wire';
import type { ChatAccount, ChatActivity, ChatAttachment, ChatCardAction } from './types';

/** How one agent message is presented (see agent-turns.ts, avatars.ts). */
export interface AgentPresentation {
  /**
   * Put before the text (the first message of an agent turn). A message with no text (an image
   * or a file alone) gets the prefix alone as its text, trailing spaces trimmed: "Anna Rossi:".
   */
  prefix?: string;
  /** The agent's Tiledesk photo, as `from.properties.avatarUrl`. */
  avatarUrl?: string;
}

/**
 * Pure mapping of a Tiledesk agent message to the activity the user receives (§3.6):
 * text, `image`/`file` → attachments, `frame` → a link, template buttons → suggested actions.
 */
export function toUserActivity(
  message: TiledeskMessage,
  presentation: AgentPresentation = {},
): ChatActivity {
  const metadata = asRecord(message.metadata);
  const src = typeof metadata['src'] === 'string' ? metadata['src'] : undefined;
  const mime = typeof metadata['type'] === 'string' ? metadata['type'] : undefined;
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : undefined;
  let text = message.text ?? '';
  const attachments: ChatAttachment[] = [];

  if (src && (message.type === 'image' || message.type === 'file')) {
    const contentType =
      mime ?? (message.type === 'image' ? 'image/png' : 'application/octet-stream');
    attachments.push({ contentType, contentUrl: src, ...(name ? { name } : {}) });
    if (text === 'Image attached' || text === `[${name}](${src})`) text = '';
  } else if (src && message.type === 'frame') {
    text = text ? `${text}\n\n${src}` : src;
  }

  const { prefix, avatarUrl } = presentation;
  if (prefix) text = text ? prefix + text : prefix.trimEnd();
  const from: ChatAccount = {
    id: message.sender,
    name: message.senderFullname ?? 'Agent',
    role: 'agent',
  };
  if (avatarUrl) from.properties = { avatarUrl };
  const activity: ChatActivity = { type: 'message', from };
  if (text) activity.text = text;
  if (attachments.length > 0) activity.attachments = attachments;
  const actions = buttonsOf(message.attributes);
  if (actions.length > 0) activity.suggestedActions = { actions };
  return activity;
}

function buttonsOf(attributes: TiledeskMessage['attributes']): ChatCardAction[] {
  const attachment = asRecord(attributes?.['attachment']);
  const buttons = Array.isArray(attachment['buttons']) ? attachment['buttons'] : [];
  const actions: ChatCardAction[] = [];
  for (const raw of buttons) {
    const b = asRecord(raw);
    const value = typeof b['value'] === 'string' ? b['value'] : undefined;
    if (!value) continue;
    if (b['type'] === 'url' && typeof b['link'] === 'string') {
      actions.push({ type: 'openUrl', title: value, value: b['link'] });
    } else {
      actions.push({ type: 'imBack', title: value, value });
    }
  }
  return actions;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
