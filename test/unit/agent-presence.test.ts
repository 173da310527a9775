import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { expect } from 'chai';
import { agentPrefix, agentPresenter, turnOpeners } from '../../lib/core/agent-turns';
import { Avatars } from '../../lib/core/avatars';
import { MIRROR_MARK } from '../../lib/core/to-tiledesk';
import { parseTypingEvent } from '../../lib/core/typing';
import type { Clock } from '../../lib/core/types';
import { TiledeskConfigError } from '../../lib/errors';
import { createLogger } from '../../lib/logger';
import { resolveSettings } from '../../lib/settings';
import { TiledeskClient } from '../../lib/tiledesk/client';
import type { TiledeskMessage } from '../../lib/tiledesk/wire';

const USER = '65a1b2c3d4e5f6a7b8c9d0e1_webchat_0123456789abcdef01234567';
const BOT = 'bot_0123456789abcdef01234567';
const ANNA = '65a1b2c3d4e5f6a7b8c9d0aa';
const MARCO = '65a1b2c3d4e5f6a7b8c9d0ab';
const REQ = 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-0123456789abcdef0123456789abcdef';

let seq = 0;
function msg(sender: string, fields: Partial<TiledeskMessage> = {}): TiledeskMessage {
  seq += 1;
  return {
    _id: `m${seq}`,
    sender,
    senderFullname: sender === ANNA ? 'Anna Rossi' : sender === MARCO ? 'Marco Bianchi' : 'x',
    recipient: REQ,
    text: `text ${seq}`,
    createdAt: new Date(Date.UTC(2026, 10, 26, 14, 0, seq)).toISOString(),
    ...fields,
  };
}
const system = (key: string, fields: Partial<TiledeskMessage> = {}) =>
  msg('system', { attributes: { subtype: 'info', messagelabel: { key } }, ...fields });

describe('agent turns (the name prefix)', () => {
  const cases: { name: string; transcript: () => TiledeskMessage[]; openers: number[] }[] = [
    {
      name: 'the first agent message of the request opens a turn, the next ones do not',
      transcript: () => [msg(USER), system('TOUCHING_OPERATOR'), msg(ANNA), msg(ANNA), msg(ANNA)],
      openers: [2],
    },
    {
      name: 'the user writing ends the turn',
      transcript: () => [msg(ANNA), msg(USER), msg(ANNA), msg(ANNA)],
      openers: [0, 2],
    },
    {
      name: 'the bot speaking (a mirrored bot message or notice) ends the turn',
      transcript: () => [msg(ANNA), msg(BOT, { attributes: { [MIRROR_MARK]: true } }), msg(ANNA)],
      openers: [0, 2],
    },
    {
      name: 'another agent opens a turn of their own',
      transcript: () => [msg(ANNA), msg(MARCO), msg(MARCO), msg(ANNA)],
      openers: [0, 1, 3],
    },
    {
      name: 'what the user never saw does not end a turn: private notes, info, joins, empty messages',
      transcript: () => [
        msg(ANNA),
        msg(MARCO, { attributes: { subtype: 'private' } }),
        system('MEMBER_JOINED_GROUP', {
          attributes: {
            subtype: 'info',
            messagelabel: { key: 'MEMBER_JOINED_GROUP', parameters: { member_id: MARCO } },
          },
        }),
        msg(MARCO, { text: '' }),
        msg(ANNA),
      ],
      openers: [0],
    },
    {
      name: 'images and files count as messages of their sender',
      transcript: () => [
        msg(USER),
        msg(ANNA, { type: 'image', text: 'Image attached', metadata: { src: 'https://x/a.png' } }),
        msg(ANNA),
      ],
      openers: [1],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const transcript = c.transcript();
      const expected = c.openers.map((i) => transcript[i]!._id);
      expect([...turnOpeners(transcript, USER, new Set([BOT]))]).to.deep.equal(expected);
    });
  }

  it('agentPrefix fills {agent} (every occurrence), falls back to "Agent", and is off with ""', () => {
    expect(agentPrefix('{agent}: ', 'Anna Rossi')).to.equal('Anna Rossi: ');
    expect(agentPrefix('{agent} ({agent}) ', 'Anna')).to.equal('Anna (Anna) ');
    expect(agentPrefix('{agent}: ', '  ')).to.equal('Agent: ');
    expect(agentPrefix('{agent}: ', 'A $& B')).to.equal('A $& B: '); // no replacement patterns
    expect(agentPrefix('', 'Anna Rossi')).to.equal('');
  });

  it('the presenter: prefix on a turn opener only, the prefix alone for an image, the avatar on all', async () => {
    const presentAll = agentPresenter('{agent}: ', async (id) =>
      id === ANNA ? 'https://api.example/images?path=x' : undefined,
    );
    const present = async (...args: Parameters<typeof presentAll>) =>
      (await presentAll(...args))[0]!;
    const opener = await present(msg(ANNA, { text: 'Hi' }), true);
    expect(opener.text).to.equal('Anna Rossi: Hi');
    expect(opener.from).to.deep.equal({
      id: ANNA,
      name: 'Anna Rossi',
      role: 'agent',
      properties: { avatarUrl: 'https://api.example/images?path=x' },
    });
    expect((await present(msg(ANNA, { text: 'Hi' }), false)).text).to.equal('Hi');
    const image = await present(
      msg(ANNA, { type: 'image', text: 'Image attached', metadata: { src: 'https://x/a.png' } }),
      true,
    );
    expect(image.text).to.equal('Anna Rossi:');
    expect(image.attachments).to.have.length(1);
    const marco = await present(msg(MARCO, { text: 'Hi' }), true);
    expect(marco.from).to.not.have.property('properties');
    const off = agentPresenter('', async () => undefined);
    expect((await off(msg(ANNA, { text: 'Hi' }), true))[0]!.text).to.equal('Hi');
  });
});

/** A clock whose time and timers move only when the test says so. */
function manualClock() {
  let now = 0;
  type Timer = { at: number; fn: () => void; unref?(): unknown };
  let timers: Timer[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t: Timer = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => void (timers = timers.filter((t) => t !== h)),
  };
  const advance = async (ms: number) => {
    now += ms;
    const due = timers.filter((t) => t.at <= now);
    timers = timers.filter((t) => t.at > now);
    for (const t of due) t.fn();
    await Promise.resolve();
  };
  return { clock, advance };
}

describe('Avatars (agents’ Tiledesk photos)', () => {
  function avatars(lookup: (id: string) => Promise<string | undefined>) {
    const time = manualClock();
    const calls: string[] = [];
    const a = new Avatars({
      lookup: (id) => {
        calls.push(id);
        return lookup(id);
      },
      clock: time.clock,
      logger: createLogger(),
    });
    return { a, calls, ...time };
  }

  it('looks an agent up once per hour; a prefetch in flight is shared', async () => {
    const t = avatars(async (id) => `photo of ${id}`);
    t.a.prefetch(ANNA);
    expect(await t.a.get(ANNA)).to.equal(`photo of ${ANNA}`);
    expect(await t.a.get(ANNA)).to.equal(`photo of ${ANNA}`);
    expect(t.calls).to.deep.equal([ANNA]);
    await t.advance(60 * 60 * 1000 + 1);
    await t.a.get(ANNA);
    expect(t.calls).to.deep.equal([ANNA, ANNA]);
  });

  it('a message waits at most 1 s for a slow lookup, then goes without; the photo comes later', async () => {
    let resolve: (url: string) => void = () => undefined;
    const t = avatars(() => new Promise((r) => (resolve = r)));
    const first = t.a.get(ANNA);
    await t.advance(1000);
    expect(await first).to.equal(undefined);
    resolve('late photo');
    await Promise.resolve();
    expect(await t.a.get(ANNA)).to.equal('late photo');
    expect(t.calls).to.have.length(1);
  });

  it('a failed lookup means no avatar, and is tried again after a minute', async () => {
    let fail = true;
    const t = avatars(async () => {
      if (fail) throw new Error('503');
      return 'photo';
    });
    expect(await t.a.get(ANNA)).to.equal(undefined);
    fail = false;
    expect(await t.a.get(ANNA)).to.equal(undefined); // remembered
    await t.advance(60 * 1000 + 1);
    expect(await t.a.get(ANNA)).to.equal('photo');
  });

  it('only Tiledesk user ids (ObjectIds) are looked up', async () => {
    const t = avatars(async () => 'photo');
    expect(await t.a.get('bot_123')).to.equal(undefined);
    expect(await t.a.get('system')).to.equal(undefined);
    expect(t.calls).to.deep.equal([]);
  });
});

describe('TiledeskClient.userPhotoUrl', () => {
  const API = 'https://tiledesk.test/v3';
  function client(status: number, contentType: string) {
    const urls: string[] = [];
    const adapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
      urls.push(axios.getUri(config));
      expect(config.headers.get('Authorization')).to.equal(undefined); // a public route
      return {
        status,
        statusText: '',
        headers: { 'content-type': contentType },
        config,
        data: Buffer.from('x'),
      };
    };
    const c = new TiledeskClient({
      apiUrl: API,
      projectId: '65a1b2c3d4e5f6a7b8c9d0e1',
      timeoutMs: 1000,
      http: axios.create({ adapter }),
    });
    return { c, urls };
  }
  const file = `uploads%2Fusers%2F${ANNA}%2Fimages%2Fthumbnails_200_200-photo.jpg`;

  it('answers the fixed photo URL when Tiledesk serves an image there (/files first)', async () => {
    const { c, urls } = client(200, 'image/jpeg');
    expect(await c.userPhotoUrl(ANNA)).to.equal(`${API}/files?path=${file}`);
    expect(urls).to.deep.equal([`${API}/files?path=${file}`]);
    // 404 there: the older /images is asked too (tiledesk-client.test.ts has the details).
    const none = client(404, 'application/json');
    expect(await none.c.userPhotoUrl(ANNA)).to.equal(undefined);
    expect(none.urls).to.deep.equal([`${API}/files?path=${file}`, `${API}/images?path=${file}`]);
  });

  it('404, or something that is not an image: no photo; 5xx: an error', async () => {
    expect(await client(404, 'application/json').c.userPhotoUrl(ANNA)).to.equal(undefined);
    expect(await client(200, 'text/html').c.userPhotoUrl(ANNA)).to.equal(undefined);
    let error: unknown;
    await client(503, 'text/html')
      .c.userPhotoUrl(ANNA)
      .catch((e: unknown) => (error = e));
    expect(error).to.have.property('status', 503);
  });
});

describe('parseTypingEvent (event.emit.typing.start)', () => {
  /** As `S:pubmodules/events/eventService.js#L43-89` delivers it (values of the fixtures' world). */
  const payload = () => ({
    _id: '65a1b2c3d4e5f6a7b8c9f001',
    name: 'typing.start',
    attributes: {
      recipient_id: REQ,
      writer_id: ANNA,
      data: { uid: ANNA, timestamp: 1795701640000, message: 'Hi John, your ord', name: 'Anna' },
    },
    id_project: '65a1b2c3d4e5f6a7b8c9d0e1',
    project_user: {
      _id: '65a1b2c3d4e5f6a7b8c9d0f1',
      role: 'agent',
      id_user: {
        _id: ANNA,
        firstname: 'Anna',
        lastname: 'Rossi',
        email: 'anna.rossi@acme.example',
      },
    },
    createdBy: ANNA,
    updatedBy: ANNA,
    status: 'stardard',
    createdAt: '2026-11-26T14:00:40.100Z',
    updatedAt: '2026-11-26T14:00:40.100Z',
    __v: 0,
    id: '65a1b2c3d4e5f6a7b8c9f001',
  });

  it('keeps the request, the writer, the full name and the time — never the draft', () => {
    const signal = parseTypingEvent(payload());
    expect(signal).to.deep.equal({
      requestId: REQ,
      writerId: ANNA,
      name: 'Anna Rossi',
      createdAt: '2026-11-26T14:00:40.100Z',
    });
    expect(JSON.stringify(signal)).to.not.include('your ord');
  });

  it('without a populated user, the console’s first name; without both, no name', () => {
    const p = payload() as Record<string, unknown>;
    p['project_user'] = '65a1b2c3d4e5f6a7b8c9d0f1'; // not populated
    expect(parseTypingEvent(p)?.name).to.equal('Anna');
    (p['attributes'] as Record<string, unknown>)['data'] = 'garbage';
    expect(parseTypingEvent(p)).to.deep.include({ writerId: ANNA, name: undefined });
  });

  it('anything else is not a typing event', () => {
    expect(parseTypingEvent({ ...payload(), name: 'typing.stop' })).to.equal(undefined);
    expect(parseTypingEvent({ ...payload(), attributes: { writer_id: ANNA } })).to.equal(undefined);
    expect(parseTypingEvent(null)).to.equal(undefined);
  });
});

describe('settings TiledeskAgentPrefix and TiledeskAgentTyping', () => {
  const REQUIRED = {
    TiledeskProjectId: '65a1b2c3d4e5f6a7b8c9d0e1',
    TiledeskEmail: 'bot-admin@acme.example',
    TiledeskPassword: 'pa55-w0rd',
    TiledeskWebhookUrl: 'https://mybot.example.com/api/tiledesk',
  };

  it('read from app settings; the programmatic prefix may be empty (off)', () => {
    const s = resolveSettings({
      ...REQUIRED,
      TiledeskAgentPrefix: '{agent} › ',
      TiledeskAgentTyping: 'false',
    });
    expect(s).to.deep.include({ agentPrefix: '{agent} › ', agentTyping: false });
    expect(resolveSettings(REQUIRED, { agentPrefix: '', agentTyping: true })).to.deep.include({
      agentPrefix: '',
      agentTyping: true,
    });
  });

  it('TiledeskAgentTyping must be true or false', () => {
    expect(() => resolveSettings({ ...REQUIRED, TiledeskAgentTyping: 'sometimes' }))
      .to.throw(TiledeskConfigError)
      .with.property('message')
      .that.matches(/TiledeskAgentTyping: must be true or false/);
  });
});
