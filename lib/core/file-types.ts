/**
 * File names, extensions and MIME types of users' attachments, as Tiledesk's upload filter sees
 * them (`S:routes/filesp.js` `fileFilter`): the extension of the name must be in the allowed list
 * (`*∕*` = any), and the part's MIME type must be the one of that extension (`mime.lookup`).
 */

/** Extension → MIME type (`mime-types`' answer) for the types users commonly send. */
const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.heic': 'image/heic',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.zip': 'application/zip',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xls': 'application/vnd.ms-excel',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.ppt': 'application/vnd.ms-powerpoint',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.m4a': 'audio/mp4',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
};

/** MIME type → the extension to give a file that has none. */
const EXTENSION: Record<string, string> = {
  'image/jpg': '.jpg',
  'image/jpeg': '.jpg',
  ...Object.fromEntries(
    Object.entries(MIME)
      .filter(([ext]) => ext !== '.jpeg')
      .map(([ext, type]) => [type, ext]),
  ),
};

/** A file as Tiledesk will store it: a safe name with an extension, and its type. */
export interface FileIdentity {
  name: string;
  /** Lower case with the dot; '' when none could be found. */
  extension: string;
  /** The MIME type sent with the upload (the extension's, else the channel's). */
  contentType: string;
}

/**
 * Names the file: the attachment's name (else the URL's last path segment, else `file`), without
 * folders or control characters, at most 120 characters; when it has no known extension and the
 * type gives one, that is appended (`photo` + `image/png` → `photo.png`).
 */
export function identify(
  name: string | undefined,
  url: string | undefined,
  contentType: string | undefined,
): FileIdentity {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
  let base = clean(name) || clean(lastSegment(url)) || 'file';
  let extension = extensionOf(base);
  if (!MIME[extension]) {
    const fromType = type ? EXTENSION[type] : undefined;
    if (fromType) {
      base = `${base}${fromType}`;
      extension = fromType;
    }
  }
  if (base.length > 120) base = base.slice(0, 120 - extension.length) + extension;
  return {
    name: base,
    extension,
    contentType: MIME[extension] ?? type ?? 'application/octet-stream',
  };
}

/** The MIME type of an extension (`.pdf` → `application/pdf`), when known. */
export function mimeOf(extension: string): string | undefined {
  return MIME[extension];
}

/** Whether Tiledesk accepts the extension: `types` lists extensions, `*∕*` accepts any. */
export function allowed(extension: string, types: readonly string[]): boolean {
  return types.includes('*/*') || (extension !== '' && types.includes(extension));
}

/** `1.5 MB`, `820 KB`, `12 bytes` (1 KB = 1000 bytes, as Tiledesk's 1024000 "1 MB" limit). */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(Math.round(bytes / 100_000) / 10).toFixed(1).replace(/\.0$/, '')} MB`;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot).toLowerCase() : '';
}

function clean(name: string | undefined): string {
  return (name ?? '')
    .split(/[/\\]/)
    .pop()!
    .replace(/[\u0000-\u001f\u007f"]/g, '')
    .trim();
}

function lastSegment(url: string | undefined): string | undefined {
  if (!url || /^data:/i.test(url)) return undefined;
  try {
    const segment = new URL(url).pathname.split('/').pop();
    return segment ? decodeURIComponent(segment) : undefined;
  } catch {
    return undefined;
  }
}
