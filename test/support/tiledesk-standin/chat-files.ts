/**
 * Chat files as tiledesk-server 2.19.16 keeps them (`S:routes/filesp.js` `POST /chat`,
 * `S:routes/files.js` `GET /download`, `S:middleware/file-type.js`, `S:app.js` error handler):
 * - `POST /{p}/files/chat`, multipart field `file`, guest role or more (bots, subscriptions).
 *   multer's `fileFilter` runs first: no original name → 400; the extension (`path.extname`,
 *   lower case) must be in the allowed list — a SUBSTRING test on the comma-separated string, so
 *   a name without extension passes — else 403 `File extension .x is not allowed`; the part's
 *   MIME type must be `mime.lookup(ext)` (or an alias) else 403. End users (roleType 2, guests)
 *   get `project.widget.allowedUploadExtentions`, others `project.settings.allowed_upload_extentions`,
 *   each defaulting to `.jpg,.jpeg,.png,.gif,.pdf,.txt`; `*∕*` accepts anything.
 *   Then the size: over `MAX_UPLOAD_FILE_SIZE` (1024000) → 413 `{success:false, error:'File too
 *   large', code:'LIMIT_FILE_SIZE'}`. Then the content must match the declared type (magic bytes
 *   for images and PDF, any bytes for text) else 403. No file part → 500. 201
 *   `{message:'File uploaded successfully', filename:'uploads/users/<user>/files/<uuid>/<name>'}`.
 * - `GET /files/download?path=<filename>`, no token: the bytes as an attachment, or 404
 *   `{success:false, error:'File not found.'}`.
 * Checked against the real server (2026-11-29, anonymous end user, our TiledeskClient.uploadFile):
 * 201 with that filename (spaces kept); 413 "File too large"; 403 "File extension .exe is not
 * allowed"; 403 "…Detected: image/jpeg, provided: image/png" (a .png sent as image/jpeg); 403
 * "…Detected: unknown, provided: image/png" (not PNG bytes); a name without extension passes the
 * filter and fails the content check (403); no file part → 500 "Error updating file chunks";
 * an unknown download path → 404. (Downloading a stored file answered 500 there: CongoDB, the
 * test database, returns GridFS chunks the driver rejects; not a server behaviour.)
 */
import { randomUUID } from 'node:crypto';
import { type Ctx, json, type Reply } from './http-util';

export const DEFAULT_CHAT_EXTENSIONS = '.jpg,.jpeg,.png,.gif,.pdf,.txt';

const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.exe': 'application/x-msdownload',
  '.zip': 'application/zip',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
};

const MAGIC: Record<string, number[][]> = {
  'image/png': [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  'image/jpeg': [[0xff, 0xd8, 0xff]],
  'image/gif': [[0x47, 0x49, 0x46, 0x38]],
  'application/pdf': [[0x25, 0x50, 0x44, 0x46]],
};
const TEXT = ['text/plain', 'text/csv', 'text/markdown'];

/** Upload limits, as the server's environment and project settings set them. */
export interface ChatFileLimits {
  /** `MAX_UPLOAD_FILE_SIZE`. */
  maxBytes: number;
  /** `project.widget.allowedUploadExtentions` (end users). */
  widgetExtensions: string | undefined;
  /** `project.settings.allowed_upload_extentions` (agents, admins). */
  settingsExtensions: string | undefined;
}

export interface StoredChatFile {
  filename: string;
  data: Buffer;
  contentType: string;
  uploadedBy: string;
}

/** A multipart body, kept raw by `readBody`. */
export interface MultipartBody {
  multipart: Buffer;
  contentType: string;
}

export class ChatFiles {
  readonly files = new Map<string, StoredChatFile>();
  limits: ChatFileLimits = {
    maxBytes: 1_024_000,
    widgetExtensions: undefined,
    settingsExtensions: undefined,
  };

  /** After authentication and the guest role check. `endUser`: roleType 2 or guest. */
  upload(ctx: Ctx, userId: string, endUser: boolean): Reply {
    const part = fileFieldOf(ctx.body);
    if (!part) return json(500, { success: false, error: 'Error updating file chunks' });
    const allowedList =
      (endUser ? this.limits.widgetExtensions : this.limits.settingsExtensions) ??
      DEFAULT_CHAT_EXTENSIONS;
    if (allowedList !== '*/*') {
      if (!part.filename)
        return json(400, { success: false, error: 'File original name is required' });
      const dot = part.filename.lastIndexOf('.');
      const ext = dot > 0 ? part.filename.slice(dot).toLowerCase() : '';
      if (!allowedList.includes(ext)) {
        return json(403, { success: false, error: `File extension ${ext} is not allowed` });
      }
      const expected = MIME[ext];
      if (expected && !sameType(part.contentType, expected)) {
        const error = `File content does not match mimetype. Detected: ${part.contentType}, provided: ${expected}`;
        return json(403, { success: false, error });
      }
    }
    if (part.data.length > this.limits.maxBytes) {
      return json(413, { success: false, error: 'File too large', code: 'LIMIT_FILE_SIZE' });
    }
    const signatures = MAGIC[part.contentType];
    const matches = signatures
      ? signatures.some((sig) => sig.every((b, i) => part.data[i] === b))
      : TEXT.includes(part.contentType);
    if (!matches) {
      const error = `File content does not match mimetype. Detected: unknown, provided: ${part.contentType}`;
      return json(403, { success: false, error });
    }
    const filename = `uploads/users/${userId}/files/${randomUUID()}/${part.filename}`;
    this.files.set(filename, {
      filename,
      data: part.data,
      contentType: part.contentType,
      uploadedBy: userId,
    });
    return json(201, { message: 'File uploaded successfully', filename });
  }

  /** `GET /files/download?path=` (no token). */
  download(ctx: Ctx): Reply | undefined {
    if (ctx.method !== 'GET' || ctx.segments.length !== 2) return undefined;
    const file = this.files.get(ctx.query.get('path') ?? '');
    if (!file) return json(404, { success: false, error: 'File not found.' });
    const name = file.filename.split('/').pop() ?? 'file';
    return {
      status: 200,
      body: file.data,
      contentType: file.contentType,
      headers: { 'Content-Disposition': `attachment; filename="${name}"` },
    };
  }
}

function sameType(a: string, b: string): boolean {
  const alias = (t: string) => (t === 'image/jpg' ? 'image/jpeg' : t.toLowerCase());
  return alias(a) === alias(b);
}

/** The `file` part of a multipart body (busboy's view: name, filename, type, bytes). */
function fileFieldOf(
  body: unknown,
): { filename: string; contentType: string; data: Buffer } | undefined {
  const raw = body as Partial<MultipartBody> | undefined;
  if (!raw?.multipart || !raw.contentType) return undefined;
  const boundary = /boundary="?([^";]+)"?/i.exec(raw.contentType)?.[1];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const buf = raw.multipart;
  let at = buf.indexOf(delimiter);
  while (at >= 0) {
    const next = buf.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = buf.subarray(at + delimiter.length + 2, next - 2); // CRLF after/before
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.subarray(0, split).toString('utf8');
      const name = /name="([^"]*)"/i.exec(head)?.[1];
      const filename = /filename="([^"]*)"/i.exec(head)?.[1];
      if (name === 'file' && filename !== undefined) {
        const contentType = /content-type:\s*([^\r\n;]+)/i.exec(head)?.[1]?.trim();
        return {
          filename,
          contentType: contentType ?? 'application/octet-stream',
          data: Buffer.from(part.subarray(split + 4)),
        };
      }
    }
    at = next;
  }
  return undefined;
}
