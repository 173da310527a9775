import { expect } from 'chai';
import { TiledeskApiError } from '../../lib/errors';
import { TiledeskClient } from '../../lib/tiledesk/client';
import { TiledeskStandIn } from '../support/tiledesk-standin';

/** `TiledeskClient.uploadFile` (multipart over axios) against the stand-in's `/files/chat`. */
describe('TiledeskClient.uploadFile against the stand-in', () => {
  const standin = new TiledeskStandIn();
  let client: TiledeskClient;
  let token: string;
  const PNG = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(64),
  ]);

  before(async () => {
    await standin.start();
    client = new TiledeskClient({
      apiUrl: standin.url,
      projectId: standin.projectId,
      timeoutMs: 5000,
    });
    ({ token } = await client.signInAnonymously({ firstname: 'Ada' }));
  });
  after(() => standin.stop());

  it('uploads with the end user token; the download URL serves the bytes without a token', async () => {
    const out = await client.uploadFile(token, {
      name: 'my receipt.png',
      contentType: 'image/png',
      data: PNG,
    });
    expect(out.filename).to.match(/^uploads\/users\/[^/]+\/files\/[0-9a-f-]{36}\/my receipt\.png$/);
    expect(out.url).to.equal(
      `${standin.url}/files/download?path=${encodeURIComponent(out.filename)}`,
    );
    const stored = standin.chatFiles.files.get(out.filename);
    expect(stored?.contentType).to.equal('image/png');
    expect(stored?.data.equals(PNG)).to.equal(true);
    const res = await fetch(out.url);
    expect(res.status).to.equal(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).to.equal(true);
  });

  const refusals: {
    name: string;
    file: { name: string; contentType: string; data: Buffer };
    status: number;
    detail: string;
  }[] = [
    {
      name: 'over the size limit',
      file: {
        name: 'big.png',
        contentType: 'image/png',
        data: Buffer.concat([PNG, Buffer.alloc(1_024_000)]),
      },
      status: 413,
      detail: 'File too large',
    },
    {
      name: 'a forbidden extension',
      file: { name: 'setup.exe', contentType: 'application/x-msdownload', data: Buffer.from('MZ') },
      status: 403,
      detail: 'File extension .exe is not allowed',
    },
    {
      name: 'content that is not its type',
      file: { name: 'fake.png', contentType: 'image/png', data: Buffer.from('not a png') },
      status: 403,
      detail: 'File content does not match mimetype. Detected: unknown, provided: image/png',
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}: ${r.status}, not retryable`, async () => {
      const err = await client.uploadFile(token, r.file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(TiledeskApiError);
      const e = err as TiledeskApiError;
      expect([e.status, e.retryable]).to.deep.equal([r.status, false]);
      expect(e.message).to.include(r.detail);
      expect(e.message).to.not.include(token);
    });
  }
});
