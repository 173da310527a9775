import type { TiledeskApiError } from '../errors';
import type { OutgoingMessage } from '../tiledesk/wire';
import { AttachmentFetchError } from './attachment-fetch';
import { type FileIdentity, formatSize } from './file-types';
import { neutralize } from './to-tiledesk';

/**
 * What agents read when a user's file could not be copied into Tiledesk: a note in the file's
 * place (lib/core/uploads.ts), and the reasons, worded from statuses and codes only (never an
 * error's message, which could quote a URL, a body or a credential).
 */

/** Why a file was not copied, as agents read it. */
export type Refusal = { why: string; size?: number | undefined };

/** The note agents see in place of the file. */
export function note(file: FileIdentity, refusal: Refusal): OutgoingMessage {
  const size = refusal.size === undefined ? '' : `, ${formatSize(refusal.size)}`;
  return {
    text: neutralize(
      `📎 File not copied: ${file.name} (${file.contentType}${size}): ${refusal.why}.`,
    ),
    attributes: {
      bf_file_not_copied: {
        name: file.name,
        type: file.contentType,
        ...(refusal.size === undefined ? {} : { size: refusal.size }),
        reason: refusal.why,
      },
    },
  };
}

export function refusedDownload(status: number, withToken: boolean): Refusal {
  if (status === 0) return { why: 'its data: link is not valid' };
  if (status === 404 || status === 410) return { why: `its link has expired (HTTP ${status})` };
  if ((status === 401 || status === 403) && withToken) {
    return { why: `the channel refused the download (HTTP ${status}; the bot's token is needed)` };
  }
  return { why: `the download was refused (HTTP ${status})` };
}

export function tooLarge(maxBytes: number): string {
  return `it is larger than the upload limit of ${formatSize(maxBytes)}`;
}

/** `HTTP 403: File extension .exe is not allowed` (the server's `error`, as the client kept it). */
export function describeUploadRefusal(err: TiledeskApiError): string {
  const reason = /failed \(\d+\): "?(.*?)"?$/.exec(err.message)?.[1];
  return `HTTP ${err.status}${reason ? `: ${reason}` : ''}`;
}

/** Status, else the error's code: never its message (which could quote a URL or a body). */
export function describe(err: unknown): string {
  const e = err as { code?: unknown; context?: { status?: unknown; reason?: unknown } } | undefined;
  const status = e?.context?.status;
  if (typeof status === 'number') return `HTTP ${status}`;
  if (err instanceof AttachmentFetchError) return err.detail;
  return typeof e?.code === 'string' ? e.code : 'an unexpected error';
}
