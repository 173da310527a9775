import { expect } from 'chai';
import { classifyMessage, type Delivery } from '../../lib/core/classify-delivery';
import type { TiledeskMessage } from '../../lib/tiledesk/wire';
import {
  F,
  type FixtureName,
  messageCreateFixtureNames,
  messagePayload,
  SCENARIO,
} from '../support/tiledesk-fixtures';

/** What the engine passes: the bot's own sender id (lib/core/engine.ts). */
const OWN = new Set<string>([SCENARIO.botSender]);

function withAttributes(name: FixtureName, attributes: Record<string, unknown>): TiledeskMessage {
  const message = messagePayload(name);
  return { ...message, attributes: { ...message.attributes, ...attributes } };
}

describe('classifyMessage', () => {
  describe('every message.create fixture', () => {
    const expected: Record<
      (typeof F)[Exclude<keyof typeof F, 'requestClose' | 'requestUpdate'>],
      { own: ReadonlySet<string>; delivery: Delivery }
    > = {
      [F.agent]: { own: OWN, delivery: { kind: 'agent' } },
      // The fixture's user echo has no bf_mirror mark (not posted by us): the user's sender id
      // has to be known to recognise it.
      [F.echo]: {
        own: new Set([SCENARIO.botSender, SCENARIO.endUserId]),
        delivery: { kind: 'ignore', reason: 'echo' },
      },
      [F.closed]: { own: OWN, delivery: { kind: 'closed' } },
      [F.joined]: {
        own: OWN,
        delivery: { kind: 'joined', agentId: SCENARIO.agentId, agentName: 'Anna Rossi' },
      },
      [F.touching]: { own: OWN, delivery: { kind: 'ignore', reason: 'info' } },
    };

    it('covers every message.create fixture on disk', () => {
      expect(messageCreateFixtureNames()).to.deep.equal(Object.keys(expected).sort());
    });

    for (const [name, c] of Object.entries(expected)) {
      it(`${name.split('--')[1]} → ${JSON.stringify(c.delivery)}`, () => {
        expect(classifyMessage(messagePayload(name as FixtureName), c.own)).to.deep.equal(
          c.delivery,
        );
      });
    }
  });

  describe('own echoes', () => {
    it('ignores a message carrying our bf_mirror mark, whoever the sender is', () => {
      expect(classifyMessage(withAttributes(F.echo, { bf_mirror: true }), OWN)).to.deep.equal({
        kind: 'ignore',
        reason: 'echo',
      });
      // Even one that would otherwise look like an agent reply.
      expect(classifyMessage(withAttributes(F.agent, { bf_mirror: true }), OWN)).to.deep.equal({
        kind: 'ignore',
        reason: 'echo',
      });
    });

    it('only bf_mirror === true counts as the mark', () => {
      expect(classifyMessage(withAttributes(F.agent, { bf_mirror: 'true' }), OWN)).to.deep.equal({
        kind: 'agent',
      });
    });

    it('ignores our bot sender even without the mark', () => {
      const botEcho: TiledeskMessage = {
        ...messagePayload(F.agent),
        sender: SCENARIO.botSender,
        attributes: {},
      };
      expect(classifyMessage(botEcho, OWN)).to.deep.equal({ kind: 'ignore', reason: 'echo' });
    });

    it('an echo is ignored before its CHAT_CLOSED label is looked at', () => {
      const message = withAttributes(F.closed, { bf_mirror: true });
      expect(classifyMessage(message, OWN)).to.deep.equal({ kind: 'ignore', reason: 'echo' });
    });
  });

  describe('hidden subtypes and system messages', () => {
    const cases: { name: string; message: () => TiledeskMessage; expected: Delivery }[] = [
      {
        name: 'agent private note (subtype private)',
        message: () => withAttributes(F.agent, { subtype: 'private' }),
        expected: { kind: 'ignore', reason: 'private' },
      },
      {
        name: 'info message from an agent id',
        message: () => withAttributes(F.agent, { subtype: 'info' }),
        expected: { kind: 'ignore', reason: 'info' },
      },
      {
        name: 'CHAT_REOPENED (info/support)',
        message: () => withAttributes(F.closed, { messagelabel: { key: 'CHAT_REOPENED' } }),
        expected: { kind: 'ignore', reason: 'info/support' },
      },
      {
        name: 'a system message without subtype',
        message: () => ({ ...messagePayload(F.touching), attributes: {} }),
        expected: { kind: 'ignore', reason: 'system' },
      },
      {
        name: 'an agent message with neither text nor media',
        message: () => ({ ...messagePayload(F.agent), text: '' }),
        expected: { kind: 'ignore', reason: 'empty' },
      },
      {
        name: 'an agent image without text',
        message: () => ({
          ...messagePayload(F.agent),
          text: null,
          type: 'image',
          metadata: { src: 'https://c/x.png' },
        }),
        expected: { kind: 'agent' },
      },
      {
        name: 'an agent frame without text',
        message: () => ({ ...messagePayload(F.agent), text: undefined, type: 'frame' }),
        expected: { kind: 'agent' },
      },
      {
        name: 'an agent gallery without text',
        message: () => ({
          ...messagePayload(F.agent),
          text: '',
          type: 'gallery',
          attributes: { attachment: { type: 'gallery', gallery: [{ title: 'A' }] } },
        }),
        expected: { kind: 'agent' },
      },
      {
        name: 'buttons without text',
        message: () => ({
          ...messagePayload(F.agent),
          text: '',
          attributes: { attachment: { type: 'template', buttons: [{ type: 'text', value: 'Y' }] } },
        }),
        expected: { kind: 'agent' },
      },
      {
        name: "a Tiledesk bot's commands without text",
        message: () => ({
          ...messagePayload(F.agent),
          text: '',
          attributes: { commands: [{ type: 'message', message: { text: 'Hi' } }] },
        }),
        expected: { kind: 'agent' },
      },
      {
        name: 'an empty button list and no text',
        message: () => ({
          ...messagePayload(F.agent),
          text: '',
          attributes: { attachment: { type: 'template', buttons: [] }, commands: [] },
        }),
        expected: { kind: 'ignore', reason: 'empty' },
      },
      {
        name: 'a message with null attributes',
        message: () => ({ ...messagePayload(F.agent), attributes: null }),
        expected: { kind: 'agent' },
      },
    ];
    for (const c of cases) {
      it(`${c.name} → ${JSON.stringify(c.expected)}`, () => {
        expect(classifyMessage(c.message(), OWN)).to.deep.equal(c.expected);
      });
    }
  });

  describe('CHAT_CLOSED and MEMBER_JOINED_GROUP', () => {
    it('CHAT_CLOSED is "closed" whatever the subtype', () => {
      const message = withAttributes(F.closed, { subtype: 'info' });
      expect(classifyMessage(message, OWN)).to.deep.equal({ kind: 'closed' });
    });

    it('joined uses fullname, else firstname, else no name', () => {
      const AGENT = '65a1b2c3d4e5f6a7b8c9d0aa'; // a participant of the fixture's request
      const joined = (parameters: Record<string, unknown>) =>
        classifyMessage(
          withAttributes(F.joined, { messagelabel: { key: 'MEMBER_JOINED_GROUP', parameters } }),
          OWN,
        );
      expect(joined({ member_id: AGENT, firstname: 'Anna' })).to.deep.equal({
        kind: 'joined',
        agentId: AGENT,
        agentName: 'Anna',
      });
      expect(joined({ member_id: AGENT })).to.deep.equal({
        kind: 'joined',
        agentId: AGENT,
        agentName: undefined,
      });
      expect(joined({})).to.deep.equal({ kind: 'ignore', reason: 'not an agent joining' });
    });

    it('ignores "system", our own bot and non-participants joining the group', () => {
      for (const memberId of ['system', SCENARIO.botSender, '65a1b2c3d4e5f6a7b8c9d0bb']) {
        const message = withAttributes(F.joined, {
          messagelabel: {
            key: 'MEMBER_JOINED_GROUP',
            parameters: { member_id: memberId, fullname: 'X' },
          },
        });
        expect(classifyMessage(message, OWN), memberId).to.deep.equal({
          kind: 'ignore',
          reason: 'not an agent joining',
        });
      }
    });

    it('without the request in the payload, only ObjectId-like members are agents', () => {
      const message = (memberId: string) => {
        const m = withAttributes(F.joined, {
          messagelabel: { key: 'MEMBER_JOINED_GROUP', parameters: { member_id: memberId } },
        });
        delete (m as { request?: unknown }).request;
        return m;
      };
      expect(classifyMessage(message('65a1b2c3d4e5f6a7b8c9d0bb'), OWN).kind).to.equal('joined');
      expect(classifyMessage(message(`${SCENARIO.projectId}_webchat_0123`), OWN).kind).to.equal(
        'ignore',
      );
    });

    // Regression: when chat21 creates the group it also sends
    // MEMBER_JOINED_GROUP for the requester (members = participants + "system" + lead_id,
    // tiledesk-api.md §2.2 step 4 and §5.4 "X joined group on creation"). The end user is not
    // an agent, yet this becomes `joined`, and WebhookReceiver calls handoff.accept(): if the
    // request is created while the conversation is already in handoff mode (first user message
    // "human"), the user is told "John Smith has joined the chat." before any agent took it.
    // The payload carries the requester (`request.lead.lead_id`, `request.requester.uuid_user`)
    // and the agents (`request.participantsAgents`) to tell them apart.
    it('the end user joining the group on creation is not an agent joining', () => {
      const message = withAttributes(F.joined, {
        messagelabel: {
          key: 'MEMBER_JOINED_GROUP',
          parameters: {
            member_id: SCENARIO.endUserId,
            fullname: 'John Smith',
            firstname: 'John',
            lastname: 'Smith',
          },
        },
      });
      message.text = 'John Smith joined group on creation';

      expect(classifyMessage(message, OWN).kind).to.equal('ignore');
    });
  });
});
