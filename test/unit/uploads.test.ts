import { Readable } from 'node:stream';
import axios, { type AxiosAdapter, type AxiosInstance } from 'axios';
import { expect } from 'chai';
import { decodeDataUrl } from '../../lib/core/attachment-fetch';
import { allowed, formatSize, identify } from '../../lib/core/file-types';
import type { ChatActivity, ChatAttachment } from '../../lib/core/types';
import { GIVE_UP_AFTER, planCopy, TEAMS_FILE, Uploads } from '../../lib/core/uploads';
import { TiledeskApiError } from '../../lib/errors';
import type { TiledeskApi, UploadInput } from '../../lib/tiledesk/client';
import type { OutgoingMessage } from '../../lib/tiledesk/wire';

const SERVICE = 'https://smba.trafficmanager.net/emea/';
const TYPES = ['.jpg', '.jpeg', '.png', '.gif', '.pdf', '.txt'];
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(100),
]);

describe('uploads: which attachments are copied (planCopy)', () => {
  const cases: { name: string; attachment: ChatAttachment; serviceUrl?: string; plan: unknown }[] =
    [
      {
        name: 'a data: URL (no download, no token)',
        attachment: { contentType: 'image/png', contentUrl: 'data:image/png;base64,iVBO' },
        plan: { url: 'data:image/png;base64,iVBO', withToken: false },
      },
      {
        name: "a link on the conversation's serviceUrl (Bot Connector /v3/attachments): with the token",
        attachment: {
          contentType: 'image/png',
          contentUrl: 'http://127.0.0.1:3978/v3/attachments/a1/views/original',
        },
        serviceUrl: 'http://127.0.0.1:3978',
        plan: { url: 'http://127.0.0.1:3978/v3/attachments/a1/views/original', withToken: true },
      },
      {
        name: 'the same host on another port is not the service',
        attachment: { contentType: 'image/png', contentUrl: 'http://127.0.0.1:9999/p.png' },
        serviceUrl: 'http://127.0.0.1:3978',
        plan: undefined,
      },
      {
        name: "Teams' attachment service (smba), even with another serviceUrl",
        attachment: {
          contentType: 'image/png',
          contentUrl: 'https://smba.trafficmanager.net/amer/v3/attachments/x/views/original',
        },
        serviceUrl: 'https://other.example',
        plan: {
          url: 'https://smba.trafficmanager.net/amer/v3/attachments/x/views/original',
          withToken: true,
        },
      },
      {
        name: 'Direct Line (botframework.com)',
        attachment: {
          contentType: 'application/pdf',
          contentUrl: 'https://directline.botframework.com/attachments/c/1/0',
        },
        plan: { url: 'https://directline.botframework.com/attachments/c/1/0', withToken: true },
      },
      {
        name: 'an image pasted in a Teams channel (asm.skype.com)',
        attachment: {
          contentType: 'image/*',
          contentUrl: 'https://us-api.asm.skype.com/v1/objects/0-x/views/imgo',
        },
        plan: { url: 'https://us-api.asm.skype.com/v1/objects/0-x/views/imgo', withToken: true },
      },
      {
        name: 'a look-alike host is not Bot Framework',
        attachment: { contentType: 'image/png', contentUrl: 'https://evilbotframework.com/p.png' },
        plan: undefined,
      },
      {
        name: 'a Teams file: its downloadUrl, without the token (pre-authenticated)',
        attachment: {
          contentType: TEAMS_FILE,
          name: 'report.pdf',
          content: { downloadUrl: 'https://contoso.sharepoint.com/x?tempauth=1', fileType: 'pdf' },
        },
        plan: { url: 'https://contoso.sharepoint.com/x?tempauth=1', withToken: false },
      },
      {
        name: 'a public link is mirrored as it is',
        attachment: { contentType: 'image/png', contentUrl: 'https://cdn.example/p.png' },
        serviceUrl: SERVICE,
        plan: undefined,
      },
      {
        name: 'a card is not a file',
        attachment: { contentType: 'application/vnd.microsoft.card.hero', content: { title: 't' } },
        serviceUrl: SERVICE,
        plan: undefined,
      },
      {
        name: 'a non-http link is left alone',
        attachment: { contentType: 'image/png', contentUrl: 'ftp://files.example/p.png' },
        plan: undefined,
      },
    ];
  for (const c of cases) {
    it(c.name, () => expect(planCopy(c.attachment, c.serviceUrl)).to.deep.equal(c.plan));
  }
});

describe('uploads: file names, types and sizes', () => {
  const cases: [
    string | undefined,
    string | undefined,
    string | undefined,
    string,
    string,
    string,
  ][] = [
    ['photo.PNG', undefined, 'image/png', 'photo.PNG', '.png', 'image/png'],
    ['photo', undefined, 'image/png', 'photo.png', '.png', 'image/png'],
    [
      undefined,
      'https://x/v3/attachments/1/views/original',
      'image/jpeg',
      'original.jpg',
      '.jpg',
      'image/jpeg',
    ],
    ['../../etc/passwd', undefined, 'text/plain', 'passwd.txt', '.txt', 'text/plain'],
    [
      'tool.exe',
      undefined,
      'application/x-msdownload',
      'tool.exe',
      '.exe',
      'application/x-msdownload',
    ],
    [undefined, 'data:;base64,AA', undefined, 'file', '', 'application/octet-stream'],
  ];
  for (const [name, url, type, outName, ext, outType] of cases) {
    it(`${name ?? url} (${type}) → ${outName}`, () =>
      expect(identify(name, url, type)).to.deep.equal({
        name: outName,
        extension: ext,
        contentType: outType,
      }));
  }
  it('allows listed extensions, or any with */*', () => {
    expect(allowed('.png', TYPES)).to.equal(true);
    expect(allowed('.exe', TYPES)).to.equal(false);
    expect(allowed('', TYPES)).to.equal(false);
    expect(allowed('.exe', ['*/*'])).to.equal(true);
  });
  it('formats sizes as agents read them', () => {
    expect([12, 1500, 1_024_000, 1_500_000].map(formatSize)).to.deep.equal([
      '12 bytes',
      '2 KB',
      '1 MB',
      '1.5 MB',
    ]);
  });
  it('decodes data: URLs within the limit', () => {
    expect(decodeDataUrl('data:text/plain,hi%20there', 100)).to.deep.equal({
      data: Buffer.from('hi there'),
      contentType: 'text/plain',
    });
    expect(decodeDataUrl(`data:image/png;base64,${PNG.toString('base64')}`, 10)).to.equal(
      'too-large',
    );
  });
});

/** An axios instance answering from a table (a real axios with its own adapter). */
function channel(
  answer: (
    url: string,
    auth: unknown,
  ) => { status: number; data?: Buffer; headers?: Record<string, string> },
) {
  const calls: { url: string; auth: unknown }[] = [];
  const adapter: AxiosAdapter = async (config) => {
    const auth = config.headers?.['Authorization'];
    calls.push({ url: String(config.url), auth });
    const a = answer(String(config.url), auth);
    if (a.status === 0)
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', isAxiosError: true });
    return {
      data: Readable.from(a.data ? [a.data] : []),
      status: a.status,
      statusText: '',
      headers: a.headers ?? {},
      config,
    };
  };
  return { http: axios.create({ adapter }) as AxiosInstance, calls };
}

function fakeApi(refuse?: TiledeskApiError) {
  const uploads: UploadInput[] = [];
  const api = {
    uploadFile: async (_token: string, file: UploadInput) => {
      if (refuse) throw refuse;
      uploads.push(file);
      return {
        filename: `uploads/users/u/files/1/${file.name}`,
        url: `http://td/files/download?path=${file.name}`,
      };
    },
  } as unknown as TiledeskApi;
  return { api, uploads };
}

const refusal = (status: number, body: string) =>
  new TiledeskApiError('TILEDESK_HTTP', {
    method: 'POST',
    path: '/p/files/chat',
    status,
    detail: JSON.stringify(body),
    retryable: status >= 500,
  });

async function run(
  attachment: ChatAttachment,
  o: {
    status?: number;
    data?: Buffer;
    headers?: Record<string, string>;
    refuse?: TiledeskApiError;
    attempt?: number;
    token?: string;
    maxBytes?: number;
  } = {},
) {
  const ch = channel(() => ({
    status: o.status ?? 200,
    data: o.data ?? PNG,
    headers: o.headers ?? {},
  }));
  const { api, uploads } = fakeApi(o.refuse);
  const u = new Uploads({
    api,
    http: ch.http,
    maxBytes: o.maxBytes ?? 1_024_000,
    types: TYPES,
    timeoutMs: 1000,
    token: async () => o.token,
  });
  const activity: ChatActivity = { type: 'message', text: 'see', attachments: [attachment] };
  const { rest, files } = u.split(activity, { serviceUrl: SERVICE }, 'e1', o.attempt ?? 1);
  const message: OutgoingMessage | Error = files.length
    ? await files[0]!.prepare('user-token').catch((e: Error) => e)
    : new Error('not copied');
  return { rest, files, message, uploads, calls: ch.calls, u };
}

const onService = (name: string, type: string): ChatAttachment => ({
  contentType: type,
  name,
  contentUrl: `${SERVICE}v3/attachments/${name}/views/original`,
});

describe('uploads: copy or note', () => {
  it('copies a private image: bot token on the download, Tiledesk URL in the image message', async () => {
    const r = await run(onService('receipt.png', 'image/png'), { token: 'bot-token' });
    expect(r.calls).to.deep.equal([
      { url: `${SERVICE}v3/attachments/receipt.png/views/original`, auth: 'Bearer bot-token' },
    ]);
    expect(r.uploads).to.have.length(1);
    expect(r.uploads[0]).to.include({ name: 'receipt.png', contentType: 'image/png' });
    expect(Buffer.from(r.uploads[0]!.data).equals(PNG)).to.equal(true);
    const m = r.message as OutgoingMessage;
    expect(m.type).to.equal('image');
    expect(m.metadata).to.deep.include({
      src: 'http://td/files/download?path=receipt.png',
      type: 'image/png',
    });
    expect(r.files[0]!.key).to.equal('e1:f0');
    expect(r.rest).to.deep.include({ text: 'see', attachments: [] });
  });

  it('keeps a file made once (a retried post does not upload it again)', async () => {
    const r = await run(onService('receipt.png', 'image/png'));
    const again = await r.files[0]!.prepare('user-token');
    expect(again).to.equal(r.message);
    expect(r.uploads).to.have.length(1);
  });

  const notes: {
    name: string;
    attachment: ChatAttachment;
    o: Parameters<typeof run>[1];
    text: RegExp;
    downloads: number;
  }[] = [
    {
      name: 'a type Tiledesk does not accept (not even downloaded)',
      attachment: onService('tool.exe', 'application/x-msdownload'),
      o: {},
      text: /^📎 File not copied: tool\.exe \(application\/x-msdownload\): Tiledesk accepts only \.jpg, \.jpeg, \.png, \.gif, \.pdf, \.txt files\.$/,
      downloads: 0,
    },
    {
      name: 'larger than the limit (Content-Length)',
      attachment: onService('big.png', 'image/png'),
      o: { headers: { 'content-length': '1500000' } },
      text: /^📎 File not copied: big\.png \(image\/png, 1\.5 MB\): it is larger than the upload limit of 1 MB\.$/,
      downloads: 1,
    },
    {
      name: 'larger than the limit (no Content-Length: cut off while streaming)',
      attachment: onService('big.png', 'image/png'),
      o: { maxBytes: 50 },
      text: /big\.png \(image\/png\): it is larger than the upload limit of 50 bytes\./,
      downloads: 1,
    },
    {
      name: 'an expired link (404)',
      attachment: onService('old.png', 'image/png'),
      o: { status: 404 },
      text: /old\.png \(image\/png\): its link has expired \(HTTP 404\)\./,
      downloads: 1,
    },
    {
      name: 'refused without the bot token (401)',
      attachment: onService('private.png', 'image/png'),
      o: { status: 401 },
      text: /private\.png \(image\/png\): the channel refused the download \(HTTP 401; the bot's token is needed\)\./,
      downloads: 1,
    },
    {
      name: 'Tiledesk refuses it as too large (413)',
      attachment: onService('receipt.png', 'image/png'),
      o: { refuse: refusal(413, 'File too large') },
      text: /receipt\.png \(image\/png, 108 bytes\): Tiledesk refused it as too large \(HTTP 413\)\./,
      downloads: 1,
    },
    {
      name: 'Tiledesk refuses its content (403)',
      attachment: onService('receipt.png', 'image/png'),
      o: { refuse: refusal(403, 'File content does not match mimetype') },
      text: /Tiledesk refused it \(HTTP 403: File content does not match mimetype\)\./,
      downloads: 1,
    },
    {
      name: 'a download still failing after the last attempt (503)',
      attachment: onService('receipt.png', 'image/png'),
      o: { status: 503, attempt: GIVE_UP_AFTER },
      text: /receipt\.png \(image\/png\): it could not be copied \(HTTP 503; retries gave up\)\./,
      downloads: 1,
    },
  ];
  for (const c of notes) {
    it(`notes ${c.name}`, async () => {
      const r = await run(c.attachment, c.o);
      expect(r.message).to.not.be.instanceOf(Error);
      const m = r.message as OutgoingMessage;
      expect(m.type).to.equal(undefined);
      expect(m.text).to.match(c.text);
      expect(m.attributes?.['bf_file_not_copied']).to.include({ name: c.attachment.name });
      expect(r.calls).to.have.length(c.downloads);
      expect(r.uploads).to.have.length(0);
    });
  }

  const retried: { name: string; o: Parameters<typeof run>[1] }[] = [
    { name: 'a 5xx of the channel', o: { status: 502 } },
    { name: 'a lost connection', o: { status: 0 } },
    { name: "Tiledesk's 5xx", o: { refuse: refusal(503, 'down') } },
  ];
  for (const c of retried) {
    it(`retries ${c.name} (a retryable error for the outbox)`, async () => {
      const r = await run(onService('receipt.png', 'image/png'), c.o);
      expect(r.message).to.be.instanceOf(Error);
      expect((r.message as Error & { retryable?: boolean }).retryable).to.equal(true);
      expect((r.message as Error).message).to.not.match(/Bearer|user-token/);
    });
  }

  it("retries when the bot's token cannot be obtained, then notes it (no credential quoted)", async () => {
    const ch = channel(() => ({ status: 200, data: PNG }));
    const failing = async (): Promise<string> => {
      throw new Error('AADSTS7000215: Invalid client secret s3cr3t');
    };
    const make = (attempt: number) =>
      new Uploads({
        api: fakeApi().api,
        http: ch.http,
        maxBytes: 1000,
        types: TYPES,
        timeoutMs: 1000,
        token: failing,
      })
        .split(
          { type: 'message', attachments: [onService('a.png', 'image/png')] },
          { serviceUrl: SERVICE },
          'e',
          attempt,
        )
        .files[0]!.prepare('user-token');
    const early = await make(1).catch((e: Error & { retryable?: boolean }) => e);
    expect((early as Error & { retryable?: boolean }).retryable).to.equal(true);
    expect((early as Error).message).to.not.include('s3cr3t');
    const late = (await make(GIVE_UP_AFTER)) as OutgoingMessage;
    expect(late.text).to.equal(
      "📎 File not copied: a.png (image/png): it could not be copied (the bot's token could not be obtained; retries gave up).",
    );
    expect(ch.calls).to.have.length(0);
  });

  it("notes at once what will not get better (Tiledesk's answer not understood)", async () => {
    const bad = new TiledeskApiError('TILEDESK_BAD_RESPONSE', {
      method: 'POST',
      path: '/p/files/chat',
      detail: 'x',
      retryable: false,
    });
    const r = await run(onService('receipt.png', 'image/png'), { refuse: bad });
    expect((r.message as OutgoingMessage).text).to.match(
      /it could not be copied \(TILEDESK_BAD_RESPONSE\)\.$/,
    );
  });

  it("names a file of unknown type (Teams' image/*) from the download's type", async () => {
    const teams: ChatAttachment = {
      contentType: 'image/*',
      contentUrl: `${SERVICE}v3/attachments/x/views/imgo`,
    };
    const r = await run(teams, { headers: { 'content-type': 'image/png' } });
    expect(r.uploads[0]).to.include({ name: 'imgo.png', contentType: 'image/png' });
    expect((r.message as OutgoingMessage).type).to.equal('image');
    const other = await run(teams, { headers: { 'content-type': 'image/webp' } });
    expect((other.message as OutgoingMessage).text).to.match(
      /imgo\.webp \(image\/webp, 108 bytes\): Tiledesk accepts only/,
    );
  });

  it('copies a data: URL without any download', async () => {
    const url = `data:image/png;base64,${PNG.toString('base64')}`;
    const r = await run({ contentType: 'image/png', contentUrl: url });
    expect(r.calls).to.have.length(0);
    expect(r.uploads[0]).to.include({ name: 'file.png', contentType: 'image/png' });
    expect((r.message as OutgoingMessage).metadata).to.deep.include({
      src: 'http://td/files/download?path=file.png',
    });
  });

  it('leaves nothing of an activity that only carried files to copy, and public links as they are', async () => {
    const ch = channel(() => ({ status: 200 }));
    const u = new Uploads({
      api: fakeApi().api,
      http: ch.http,
      maxBytes: 1000,
      types: TYPES,
      timeoutMs: 1000,
    });
    const onlyFile = u.split(
      { type: 'message', attachments: [onService('a.png', 'image/png')] },
      { serviceUrl: SERVICE },
      'e',
      1,
    );
    expect(onlyFile.rest).to.equal(undefined);
    const cdn: ChatAttachment = {
      contentType: 'image/png',
      contentUrl: 'https://cdn.example/p.png',
    };
    const activity: ChatActivity = {
      type: 'message',
      attachments: [cdn, onService('b.png', 'image/png')],
    };
    const mixed = u.split(activity, { serviceUrl: SERVICE }, 'e', 1);
    expect(mixed.rest?.attachments).to.deep.equal([cdn]);
    expect(mixed.files.map((f) => f.key)).to.deep.equal(['e:f1']);
  });
});
