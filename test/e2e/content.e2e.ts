/**
 * Issue 12 against a real Tiledesk: `TiledeskMirrorMode=handoff` (nothing in Tiledesk before the
 * trigger, then the kept history in order, then live messages) and files users send (copied
 * into Tiledesk with `POST /{p}/files/chat`, or a note saying why not). The sample bot runs as its
 * own process, a fake channel plays the user and serves their files as the Bot Connector does.
 * Run by `npm run test:e2e` (./run.ts).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { conversationKey, requestIdFor } from '../../lib/core/ids';
import { eventually, type WireMessage } from './agent';
import { e2eContext } from './context';
import { sampleEnv } from './sample-env';
import { sampleSuite } from './sample-suite';

const CONNECTING = 'Connecting you to a human agent…';
const STEP_MS = 20_000;
/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const context = e2eContext();
if (context) {
  const target = context.target;
  const mode = context.modes[0]!;
  describe(`mirror mode handoff and users' files against ${target.apiUrl}`, function () {
    this.timeout(90_000);
    const suite = sampleSuite(target, {
      name: 'sample-content',
      env: (port, webhookUrl) => ({
        ...sampleEnv(target, mode, port, webhookUrl, 'Echo Bot'),
        TiledeskMirrorMode: 'handoff',
        TiledeskTranscriptMaxMessages: '4',
      }),
    });
    const { admin, agent, channel } = suite;

    const conversation = (name: string) => {
      const id = `e2e-content-${name}-${randomBytes(4).toString('hex')}`;
      const user = channel.user(id, `user-${id}`, 'Ada Lovelace');
      const requestId = requestIdFor(target.projectId, conversationKey('webchat', id), 0);
      return {
        requestId,
        say: async (text: string, attachments?: unknown[]) => {
          const res = await user.send(suite.sample.messagesUrl, {
            type: 'message',
            text,
            ...(attachments ? { attachments: attachments as never } : {}),
          });
          expect(res.status).to.be.below(300);
        },
        received: (n: number) => channel.waitForTexts(id, n, STEP_MS),
      };
    };
    const visible = (list: WireMessage[]) =>
      list.filter((m) => m.sender !== 'system' && m.attributes?.['subtype'] !== 'info');

    it('nothing in Tiledesk before the trigger; then the last 4 messages, in order, marked as history, then live', async () => {
      const c = conversation('history');
      for (const [i, text] of ['one', 'two', 'three'].entries()) {
        await c.say(text);
        await c.received(i + 1);
      }
      expect(await admin.request(c.requestId)).to.equal(undefined);
      await c.say('human');
      expect((await c.received(5)).slice(3)).to.deep.equal([
        CONNECTING,
        `${agent.name} has joined the chat.`,
      ]);
      const messages = await eventually('history and the trigger in Tiledesk', async () => {
        const list = visible(await admin.messages(c.requestId));
        return list.some((m) => m.text === 'human') ? list : undefined;
      });
      const texts = messages.map((m) => m.text);
      // Kept: the last 4 of six (one, Echo: one, two, …): "one" and its echo are not.
      expect(texts.slice(0, 5)).to.deep.equal([
        'two',
        'Echo: two',
        'three',
        'Echo: three',
        'human',
      ]);
      expect(messages.slice(0, 4).every((m) => m.attributes?.['bf_history'] === true)).to.equal(
        true,
      );
      expect(messages[4]!.attributes?.['bf_history']).to.equal(undefined);
      const dropped = (await admin.messages(c.requestId)).find((m) =>
        /earlier message/.test(m.text ?? ''),
      );
      expect(dropped?.attributes?.['subtype']).to.equal('info');
      await agent.close(c.requestId);
    });

    it('a file on the channel is copied into Tiledesk (files/chat); one too large and one of a forbidden type are noted', async () => {
      const c = conversation('files');
      await c.say('human');
      await c.received(2);
      const png = channel.addAttachment(`p-${randomBytes(3).toString('hex')}`, PNG, 'image/png');
      const big = channel.addAttachment(
        `b-${randomBytes(3).toString('hex')}`,
        Buffer.alloc(1_100_000, 1),
        'image/png',
      );
      const exe = channel.addAttachment(
        `x-${randomBytes(3).toString('hex')}`,
        Buffer.from('MZ'),
        'application/octet-stream',
      );
      await c.say('my receipt', [
        { contentType: 'image/png', contentUrl: png, name: 'receipt.png' },
        { contentType: 'image/png', contentUrl: big, name: 'big.png' },
        { contentType: 'application/octet-stream', contentUrl: exe, name: 'tool.exe' },
      ]);
      const messages = await eventually('the files in Tiledesk', async () => {
        const list = visible(await admin.messages(c.requestId)).filter(
          (m) => m.sender !== agent.userId,
        );
        const i = list.findIndex((m) => m.text === 'my receipt');
        return i >= 0 && list.length >= i + 4 ? list.slice(i) : undefined;
      });
      const image = messages.find((m) => m.type === 'image');
      const src = (image?.metadata as { src?: string } | undefined)?.src ?? '';
      expect(src.startsWith(`${target.apiUrl}/files/download?path=uploads%2Fusers%2F`)).to.equal(
        true,
      );
      expect(src).to.match(/receipt\.png$/);
      const notes = messages.filter((m) => m.attributes?.['bf_file_not_copied']);
      expect(
        notes.map((m) => (m.attributes!['bf_file_not_copied'] as { name: string }).name).sort(),
      ).to.deep.equal(['big.png', 'tool.exe']);
      for (const n of notes) expect(n.text).to.match(/^📎 File not copied: /);
      await agent.close(c.requestId);
    });
  });
}
