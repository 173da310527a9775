import { expect } from 'chai';
import axios from 'axios';
import { BINDINGS } from '../support/bindings';
import { startHarness as startAny, type Harness, type HarnessOptions } from '../support/harness';
import { signedDelivery } from '../support/signed-delivery';

/** Deliveries POSTed straight at the bot's webhook endpoint, as Tiledesk (or an attacker) would. */
for (const binding of BINDINGS) {
  const startHarness = (options: HarnessOptions = {}) => startAny({ binding, ...options });

  describe(`webhook endpoint (restify route → TiledeskHandoff.webhookHandler) [${binding}]`, () => {
    let h: Harness;
    let requestId: string;
    afterEach(async () => h?.stop());

    async function inHandoff(conversationId: string) {
      h = await startHarness();
      const u = h.user(conversationId);
      await u.sayAndWait('human');
      requestId = [...h.standin.requests.keys()][0]!;
      return u;
    }

    const secret = () => h.standin.subscriptions()[0]!.secret;

    const url = () => `${h.bot.url}/api/tiledesk`;

    /** Signed for our message subscription, as Tiledesk would (a fresh timestamp each call). */
    let clock = Date.now();
    function envelope(payload: Record<string, unknown>) {
      const sub = h.standin
        .subscriptions()
        .find((s) => s.event === 'message.create.request.channel.botframework')!;
      return signedDelivery(
        sub,
        { id_project: h.standin.projectId, ...payload },
        { timestamp: ++clock },
      );
    }

    function agentMessage(id: string, text: string, extra: Record<string, unknown> = {}) {
      return {
        _id: id,
        sender: '65a1b2c3d4e5f6a7b8c9d0aa',
        senderFullname: 'Anna Rossi',
        recipient: requestId,
        type: 'text',
        text,
        status: 200,
        attributes: {},
        ...extra,
      };
    }

    const post = (body: unknown, headers: Record<string, string> = {}) =>
      axios.post(url(), body, {
        headers: { 'x-hook-secret': secret(), ...headers },
        validateStatus: () => true,
      });

    it('subscribes once per event and target, idempotently across restarts', async () => {
      await inHandoff('conv-s');
      const subs = h.standin.subscriptions();
      expect(subs.map((s) => s.event).sort()).to.deep.equal([
        'event.emit.typing.start',
        'message.create.request.channel.botframework',
        'request.close',
      ]);
      expect(subs.every((s) => s.target === url())).to.equal(true);
      await h.tiledesk.start();
      await h.tiledesk.start();
      expect(h.standin.subscriptions().map((s) => s._id)).to.deep.equal(subs.map((s) => s._id));
    });

    it('delivers an agent message once even when Tiledesk delivers it twice', async () => {
      await inHandoff('conv-d');
      const before = h.channel.texts('conv-d').length;
      const body = envelope(agentMessage('65a1b2c3d4e5f6a7b8c9ffff', 'once only'));
      expect((await post(body)).status).to.equal(200);
      expect((await post(body)).status).to.equal(200);
      await h.settle();
      expect(h.channel.texts('conv-d').slice(before)).to.deep.equal(['Anna Rossi: once only']);
    });

    it('delivers nothing for echoes, info messages and private notes', async () => {
      await inHandoff('conv-i');
      const before = h.channel.texts('conv-i').length;
      await post(envelope(agentMessage('a1', 'echo', { attributes: { bf_mirror: true } })));
      await post(
        envelope(
          agentMessage('a2', 'joined', { sender: 'system', attributes: { subtype: 'info' } }),
        ),
      );
      await post(envelope(agentMessage('a3', 'note', { attributes: { subtype: 'private' } })));
      await post(
        envelope(
          agentMessage('a4', 'reopened', {
            sender: 'system',
            attributes: { subtype: 'info/support' },
          }),
        ),
      );
      await h.settle();
      expect(h.channel.texts('conv-i').length).to.equal(before);
    });

    it('rejects a missing or wrong secret with 401 and delivers nothing', async () => {
      await inHandoff('conv-401');
      const before = h.channel.texts('conv-401').length;
      const body = envelope(agentMessage('b1', 'forged'));
      expect((await post(body, { 'x-hook-secret': 'wrong' })).status).to.equal(401);
      const missing = await axios.post(url(), body, { validateStatus: () => true });
      expect(missing.status).to.equal(401);
      await h.settle();
      expect(h.channel.texts('conv-401').length).to.equal(before);
    });

    it('answers 200 and ignores a delivery for an unknown request', async () => {
      await inHandoff('conv-u');
      const before = h.channel.texts('conv-u').length;
      const r = await post(
        envelope({ ...agentMessage('c1', 'lost'), recipient: 'support-group-x-unknown' }),
      );
      expect(r.status).to.equal(200);
      await h.settle();
      expect(h.channel.texts('conv-u').length).to.equal(before);
    });

    it('answers 400 for a body that is not a Tiledesk envelope', async () => {
      await inHandoff('conv-400');
      expect((await post({ hello: 'world' })).status).to.equal(400);
      expect((await post(envelope({ _id: 'x' }))).status).to.equal(400);
    });
  });
}
