import { expect } from 'chai';
import axios from 'axios';
import { startHarness, type Harness } from '../support/harness';

/** Hostile input at the bot's webhook endpoint (restify + bodyParser + our handler). */
describe('webhook hardening: hostile input', () => {
  let h: Harness;
  const logged: string[] = [];
  afterEach(async () => h?.stop());

  it('answers each hostile request with the right status, delivers nothing, logs no secret', async () => {
    const capture = (level: string) => (message: string, context?: Record<string, unknown>) =>
      logged.push(`${level} ${message} ${JSON.stringify(context ?? {})}`);
    h = await startHarness({
      tiledesk: {
        logger: {
          debug: capture('debug'),
          info: capture('info'),
          warn: capture('warn'),
          error: capture('error'),
        },
      },
    });
    const u = h.user('conv-hostile');
    await u.sayAndWait('human');
    const requestId = [...h.standin.requests.keys()][0]!;
    const secret = h.standin.subscriptions()[0]!.secret;
    const url = `${h.bot.url}/api/tiledesk`;
    const delivered = () => h.channel.texts('conv-hostile').length;
    const before = delivered();
    const message = (id: string, text: string) => ({
      timestamp: Date.now(),
      hook: { _id: 'h1', event: 'message.create.request.channel.botframework' },
      payload: {
        _id: id,
        sender: '65a1b2c3d4e5f6a7b8c9d0aa',
        senderFullname: 'Anna',
        recipient: requestId,
        text,
      },
    });
    const send = (body: unknown, headers: Record<string, string>) =>
      axios.post(url, body, {
        headers,
        validateStatus: () => true,
        transformRequest: [(d: unknown) => d],
        maxBodyLength: Infinity,
      });
    const json = { 'content-type': 'application/json' };

    const cases: [string, Promise<{ status: number }>, number][] = [
      [
        'wrong secret',
        send(JSON.stringify(message('m1', 'forged')), { ...json, 'x-hook-secret': 'guess' }),
        401,
      ],
      ['missing secret header', send(JSON.stringify(message('m2', 'forged')), json), 401],
      [
        'huge body',
        send(JSON.stringify({ ...message('m3', 'x'), pad: 'x'.repeat(2 * 1024 * 1024) }), {
          ...json,
          'x-hook-secret': secret,
        }),
        413,
      ],
      [
        'wrong content type',
        send('text=hello', {
          'content-type': 'application/x-www-form-urlencoded',
          'x-hook-secret': secret,
        }),
        415,
      ],
      ['invalid JSON', send('{"payload": ', { ...json, 'x-hook-secret': secret }), 400],
      [
        'valid JSON, wrong shape',
        send(JSON.stringify({ payload: 'nope', hook: 1 }), { ...json, 'x-hook-secret': secret }),
        400,
      ],
      [
        'unknown request',
        send(
          JSON.stringify({
            ...message('m4', 'lost'),
            payload: { ...message('m4', 'lost').payload, recipient: 'support-group-nope' },
          }),
          { ...json, 'x-hook-secret': secret },
        ),
        200,
      ],
    ];
    for (const [name, response, status] of cases)
      expect((await response).status, name).to.equal(status);

    const replay = JSON.stringify(message('m5', 'said once'));
    for (let i = 0; i < 3; i++) {
      expect((await send(replay, { ...json, 'x-hook-secret': secret })).status, 'replay').to.equal(
        200,
      );
    }
    await h.settle();
    expect(h.channel.texts('conv-hostile').slice(before)).to.deep.equal(['Anna: said once']);
    expect(delivered()).to.equal(before + 1);

    // Nothing crashed: the bot still mirrors and relays.
    await u.sayAndWait('still here');
    h.standin.agentReply(requestId, 'yes');
    await h.settle();
    // The user wrote since: the agent's turn opens with the name (TiledeskAgentPrefix).
    expect(h.channel.texts('conv-hostile').at(-1)).to.equal('Anna Rossi: yes');

    const secrets = [secret, h.standin.admin.password, h.standin.projectSecret];
    const everything = [
      ...logged,
      ...h.errors.map((e) => `${e.message} ${JSON.stringify(e)}`),
    ].join('\n');
    for (const s of secrets) expect(everything).to.not.include(s);
    expect(everything).to.not.match(/eyJ[A-Za-z0-9_-]{10,}/); // no JWT
  });
});
