import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TiledeskMessage, WebhookEnvelope } from '../../lib/tiledesk/wire';

/**
 * Loads the Tiledesk webhook bodies in `test/fixtures/tiledesk/` (copied from
 * `/work/shared/tiledesk-fixtures/`, see its README). Every call returns a fresh deep copy, so
 * tests may mutate what they get.
 */

export const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'tiledesk');

export type FixtureName =
  | 'message.create.request.channel.botframework--agent-message'
  | 'message.create.request.channel.botframework--echo-own-user-message'
  | 'message.create.request.channel.botframework--info-chat-closed'
  | 'message.create.request.channel.botframework--info-member-joined-group'
  | 'message.create.request.channel.botframework--info-touching-operator'
  | 'request.close'
  | 'request.update--after-agent-handoff';

/** The raw text of a fixture, as Tiledesk would POST it. */
/** Short names of the fixtures, for tests. */
export const F = {
  agent: 'message.create.request.channel.botframework--agent-message',
  echo: 'message.create.request.channel.botframework--echo-own-user-message',
  closed: 'message.create.request.channel.botframework--info-chat-closed',
  joined: 'message.create.request.channel.botframework--info-member-joined-group',
  touching: 'message.create.request.channel.botframework--info-touching-operator',
  requestClose: 'request.close',
  requestUpdate: 'request.update--after-agent-handoff',
} as const satisfies Record<string, FixtureName>;

export function fixtureText(name: FixtureName): string {
  return readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8');
}

/** A fixture parsed with the package's own envelope schema (fails loudly if it drifts). */
export function envelope(name: FixtureName): WebhookEnvelope {
  return WebhookEnvelope.parse(JSON.parse(fixtureText(name)));
}

/** The `payload` of a `message.create…` fixture, as the message the core works on. */
export function messagePayload(name: FixtureName): TiledeskMessage {
  return TiledeskMessage.parse(envelope(name).payload);
}

/** Names of every `message.create…` fixture on disk (to make sure none is left untested). */
export function messageCreateFixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.startsWith('message.create') && f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Ids used across the fixtures' scenario (README "Scenario"). */
export const SCENARIO = {
  projectId: '65a1b2c3d4e5f6a7b8c9d0e1',
  requestId: 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-4f9c2a7e1b3d4c5e8f6a0b1c2d3e4f5a',
  endUserId: '65a1b2c3d4e5f6a7b8c9d0e1_teams_29f1c0de',
  agentId: '65a1b2c3d4e5f6a7b8c9d0aa',
  botSender: 'bot_65a1b2c3d4e5f6a7b8c9d0b0',
} as const;
