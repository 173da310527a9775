import type { TiledeskMessage } from '../tiledesk/wire';
import { readButtons, toCardAction } from './content/buttons';
import { galleryCards } from './content/gallery';
import { asArray, asRecord, textOf, usableUrl } from './content/text';
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
 * Pure mapping of a Tiledesk agent (or Tiledesk bot) message to the activities the user receives
 * (§3.6; README "What each message becomes"): text; `image`/`file` → an attachment; `frame` → its
 * link after the text; `gallery` → a carousel of hero cards; template buttons → suggested
 * actions (text → imBack, action → messageBack, url → openUrl, or a hero card of links next to
 * an image or gallery). `attributes.commands` (a Tiledesk bot's multi-message reply) → one
 * activity per `message` command, in order; `wait` commands are dropped (the delivery sends the
 * activities one after another at once). The prefix goes on the first activity only.
 */
export function toUserActivities(
  message: TiledeskMessage,
  presentation: AgentPresentation = {},
): ChatActivity[] {
  const { prefix, avatarUrl } = presentation;
  const from: ChatAccount = {
    id: message.sender,
    name: message.senderFullname ?? 'Agent',
    role: 'agent',
  };
  if (avatarUrl) from.properties = { avatarUrl };
  const activities = partsOf(message).map((part) => toActivity(part, from));
  const first = activities[0]!;
  if (prefix) first.text = first.text ? prefix + first.text : prefix.trimEnd();
  return activities;
}

/** One activity for a message without commands (kept for callers that expect one). */
export function toUserActivity(
  message: TiledeskMessage,
  presentation: AgentPresentation = {},
): ChatActivity {
  return toUserActivities(message, presentation)[0]!;
}

type Content = Pick<TiledeskMessage, 'text' | 'type' | 'metadata' | 'attributes'>;

/** The message itself, or the messages of its `commands` (when any has content). */
function partsOf(message: TiledeskMessage): Content[] {
  const commands = asArray(message.attributes?.['commands']);
  const parts: Content[] = [];
  for (const raw of commands) {
    const command = asRecord(raw);
    if (command['type'] !== 'message') continue; // `wait`: nothing to show
    const inner = asRecord(command['message']);
    const part: Content = {
      text: typeof inner['text'] === 'string' ? inner['text'] : null,
      type: typeof inner['type'] === 'string' ? inner['type'] : 'text',
      metadata: inner['metadata'],
      attributes: asRecord(inner['attributes']),
    };
    if (hasContent(part)) parts.push(part);
  }
  return parts.length > 0 ? parts : [message];
}

function hasContent(part: Content): boolean {
  const attachment = asRecord(part.attributes?.['attachment']);
  return Boolean(
    textOf(part.text) ||
    usableUrl(asRecord(part.metadata)['src']) ||
    asArray(attachment['buttons']).length > 0 ||
    asArray(attachment['gallery']).length > 0,
  );
}

function toActivity(message: Content, from: ChatAccount): ChatActivity {
  const metadata = asRecord(message.metadata);
  const src = usableUrl(metadata['src']);
  const mime = textOf(metadata['type']);
  const name = textOf(metadata['name']);
  let text = message.text ?? '';
  const attachments: ChatAttachment[] = [];
  const attachment = asRecord(message.attributes?.['attachment']);
  let layout: string | undefined;

  if (src && (message.type === 'image' || message.type === 'file')) {
    const contentType =
      mime ?? (message.type === 'image' ? 'image/png' : 'application/octet-stream');
    attachments.push({ contentType, contentUrl: src, ...(name ? { name } : {}) });
    // The captions Tiledesk's connectors put by default say nothing the attachment does not.
    if (text === 'Image attached' || text === `[${name}](${src})`) text = '';
  } else if (src && message.type === 'frame') {
    // A link, not a card: no channel embeds a page, every channel shows (and opens) a link.
    text = text ? `${text}\n\n${src}` : src;
  }
  if (message.type === 'gallery' || Array.isArray(attachment['gallery'])) {
    const cards = galleryCards(attachment);
    if (cards.length > 0) {
      attachments.push(...cards);
      layout = 'carousel';
    }
  }

  const actions = readButtons(attachment['buttons']).map(toCardAction);
  const links = actions.filter((a) => a.type === 'openUrl');
  const replies: ChatCardAction[] = actions.filter((a) => a.type !== 'openUrl');
  if (links.length > 0 && attachments.length > 0) {
    // Next to an image or a gallery the links go on a card (suggested actions are for replies).
    attachments.push({
      contentType: 'application/vnd.microsoft.card.hero',
      content: { buttons: links },
    });
  } else replies.push(...links);
  // In the order the agent placed them.
  replies.sort((a, b) => actions.indexOf(a) - actions.indexOf(b));

  const activity: ChatActivity = { type: 'message', from: { ...from } };
  if (text) activity.text = text;
  if (attachments.length > 0) activity.attachments = attachments;
  if (layout) activity.attachmentLayout = layout;
  if (replies.length > 0) activity.suggestedActions = { actions: replies };
  return activity;
}
