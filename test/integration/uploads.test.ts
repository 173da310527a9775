import http from 'node:http';
import { expect } from 'chai';
import { BINDINGS } from '../support/bindings';
import { type Harness, startHarness } from '../support/harness';

/**
 * Files users send (README "Files users send"): the fake channel serves them as the Bot
 * Connector does (`/v3/attachments`, optionally only with the bot's token); the stand-in's
 * `/files/chat` applies the real server's limits.
 */

const BOT_TOKEN = 'bot-token-for-attachments';
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(200, 7),
]);

function get(
  url: string,
): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            headers: res.headers,
          }),
        );
      })
      .on('error', reject);
  });
}

for (const binding of BINDINGS) {
  describe(`files users send are copied into Tiledesk [${binding}]`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({
        binding,
        // The bot's token, except in conversation `no-token` (as a bot without app id).
        tiledesk: {
          attachmentToken: async (ref) =>
            ref.conversation?.id === 'no-token' ? undefined : BOT_TOKEN,
        },
      });
    });
    after(async () => h?.stop());

    /** The user's messages in the conversation's request (no system lines, no bot echo). */
    function userMessages(conversationId: string) {
      const request = [...h.standin.requests.values()].find(
        (r) => r.attributes['bf_conversation'] === conversationId,
      );
      expect(request, `request of ${conversationId}`).to.not.equal(undefined);
      return h.standin
        .messages(request!.request_id)
        .filter((m) => m.sender !== 'system' && !m.sender.startsWith('bot_'));
    }

    async function send(conversationId: string, text: string, attachments: unknown[]) {
      const r = await h.channel.user(conversationId).send(h.bot.messagesUrl, {
        type: 'message',
        text,
        attachments: attachments as never,
      });
      expect(r.status).to.equal(200);
      await h.settle();
    }

    it('copies a private image (with the bot token) and mirrors it as a Tiledesk image', async () => {
      const url = h.channel.addAttachment('receipt-1', PNG, 'image/png', BOT_TOKEN);
      await send('copy', 'my receipt', [
        { contentType: 'image/png', contentUrl: url, name: 'receipt.png' },
      ]);

      const messages = userMessages('copy');
      expect(messages.map((m) => [m.type, m.text])).to.deep.equal([
        ['text', 'my receipt'],
        ['image', 'receipt.png'],
      ]);
      const src = (messages[1]!.metadata as { src: string }).src;
      expect(src).to.match(
        new RegExp(`^${h.standin.url}/files/download\\?path=uploads%2Fusers%2F.+%2Freceipt\\.png$`),
      );
      expect(messages[1]!.metadata).to.deep.include({ type: 'image/png', name: 'receipt.png' });
      // What an agent's browser gets, without any token.
      const download = await get(src);
      expect(download.status).to.equal(200);
      expect(download.body.equals(PNG)).to.equal(true);
      expect(h.channel.attachmentDownloads.filter((d) => d.id === 'receipt-1')).to.deep.equal([
        { id: 'receipt-1', bearer: true },
      ]);
      expect(h.errors).to.deep.equal([]);
    });

    it('notes a private file it cannot fetch without the bot token', async () => {
      const url = h.channel.addAttachment('private-1', PNG, 'image/png', BOT_TOKEN);
      await send('no-token', 'look', [
        { contentType: 'image/png', contentUrl: url, name: 'private.png' },
      ]);
      expect(userMessages('no-token').map((m) => m.text)).to.deep.equal([
        'look',
        "📎 File not copied: private.png (image/png): the channel refused the download (HTTP 401; the bot's token is needed).",
      ]);
    });

    it('notes an expired link (404), an oversize file and a forbidden type, in order', async () => {
      const gone = h.channel.addAttachment('gone-1', PNG, 'image/png');
      h.channel.removeAttachment('gone-1');
      const big = Buffer.concat([PNG, Buffer.alloc(1_100_000)]);
      const bigUrl = h.channel.addAttachment('big-1', big, 'image/png', BOT_TOKEN);
      const exeUrl = h.channel.addAttachment(
        'exe-1',
        Buffer.from('MZ'),
        'application/x-msdownload',
      );
      await send('notes', 'three files', [
        { contentType: 'image/png', contentUrl: gone, name: 'old.png' },
        { contentType: 'image/png', contentUrl: bigUrl, name: 'big.png' },
        { contentType: 'application/x-msdownload', contentUrl: exeUrl, name: 'setup.exe' },
      ]);
      const messages = userMessages('notes');
      expect(messages.map((m) => m.text)).to.deep.equal([
        'three files',
        '📎 File not copied: old.png (image/png): its link has expired (HTTP 404).',
        '📎 File not copied: big.png (image/png, 1.1 MB): it is larger than the upload limit of 1 MB.',
        '📎 File not copied: setup.exe (application/x-msdownload): Tiledesk accepts only .jpg, .jpeg, .png, .gif, .pdf, .txt files.',
      ]);
      expect(messages[2]!.attributes?.['bf_file_not_copied']).to.deep.equal({
        name: 'big.png',
        type: 'image/png',
        size: big.length,
        reason: 'it is larger than the upload limit of 1 MB',
      });
      // The forbidden type was not even downloaded.
      expect(h.channel.attachmentDownloads.map((d) => d.id)).to.not.include('exe-1');
    });

    it("notes Tiledesk's own refusal (a smaller server limit: 413), without retrying it", async () => {
      h.standin.chatFiles.limits.maxBytes = 100;
      try {
        const url = h.channel.addAttachment('limit-1', PNG, 'image/png', BOT_TOKEN);
        await send('refused', '', [
          { contentType: 'image/png', contentUrl: url, name: 'scan.png' },
        ]);
      } finally {
        h.standin.chatFiles.limits.maxBytes = 1_024_000;
      }
      expect(userMessages('refused').map((m) => m.text)).to.deep.equal([
        '📎 File not copied: scan.png (image/png, 208 bytes): Tiledesk refused it as too large (HTTP 413).',
      ]);
      const uploads = h.standin.calls.filter((c) => c.path.endsWith('/files/chat'));
      expect(uploads.filter((c) => c.status === 413)).to.have.length(1);
    });

    it('retries a failed upload (503) and posts the image once', async () => {
      h.standin.injectFault({ method: 'POST', path: /\/files\/chat$/, status: 503, times: 1 });
      const url = h.channel.addAttachment('retry-1', PNG, 'image/png', BOT_TOKEN);
      await send('retry', 'again', [
        { contentType: 'image/png', contentUrl: url, name: 'again.png' },
      ]);
      const messages = userMessages('retry');
      expect(messages.map((m) => [m.type, m.text])).to.deep.equal([
        ['text', 'again'],
        ['image', 'again.png'],
      ]);
      expect(messages.map((m) => m.attributes?.['bf_key'])).to.satisfy((keys: string[]) =>
        keys[1]!.endsWith(':f0'),
      );
      expect(h.errors).to.deep.equal([]);
    });

    it('posts a copied file once when its post was stored but the answer lost, uploading it once', async () => {
      // Only the image is posted (no text): the first message post is the image's.
      h.standin.injectFault({
        method: 'POST',
        path: /\/messages$/,
        mode: 'drop-response',
        times: 1,
      });
      const url = h.channel.addAttachment('lost-1', PNG, 'image/png', BOT_TOKEN);
      const before = h.standin.calls.filter((c) => c.path.endsWith('/files/chat')).length;
      await send('lost', '', [{ contentType: 'image/png', contentUrl: url, name: 'lost.png' }]);
      expect(userMessages('lost').map((m) => [m.type, m.text])).to.deep.equal([
        ['image', 'lost.png'],
      ]);
      const uploads = h.standin.calls.filter((c) => c.path.endsWith('/files/chat')).length;
      expect(uploads - before).to.equal(1);
    });

    it('mirrors a public link as it is (nothing downloaded)', async () => {
      const before = h.channel.attachmentDownloads.length;
      await send('public', '', [
        { contentType: 'image/png', contentUrl: 'https://cdn.example/p.png', name: 'p.png' },
      ]);
      const messages = userMessages('public');
      expect(messages.map((m) => (m.metadata as { src?: string } | undefined)?.src)).to.include(
        'https://cdn.example/p.png',
      );
      expect(h.channel.attachmentDownloads.length).to.equal(before);
    });
  });
}
