/**
 * Profile photos, as tiledesk-server 2.19.16 keeps them (checked against the real server, see
 * test/contract). An agent uploads one in the dashboard (`POST /{p}/files/users/photo`,
 * `S:routes/filesp.js#L303-371`); the thumbnail is stored at the fixed path
 * `uploads/users/<user id>/images/thumbnails_200_200-photo.jpg` in the GridFS bucket `files`.
 * Anyone reads it without a token at `GET /files?path=<that path>` (`S:routes/files.js#L73-115`:
 * the `files` bucket, then the older `images` bucket). `GET /images?path=` (`S:routes/images.js
 * #L476-510`) reads only the `images` bucket, where servers before `files` kept photos: a photo
 * uploaded on 2.19.16 is not there (404 `{success:false, msg:'Image not found.'}`). No user,
 * project user or message document says whether a photo exists.
 */
import { type Ctx, json, type Reply } from './http-util';

const PHOTO_PATH = /^uploads\/users\/([^/]+)\/images\/thumbnails_200_200-photo\.jpg$/;

/** Where a photo is stored: `files` (uploaded on 2.19.16) or `images` (an older server). */
export type PhotoBucket = 'files' | 'images';

export class Photos {
  private readonly owners = new Map<string, PhotoBucket>();

  set(userId: string, has: boolean, bucket: PhotoBucket = 'files'): void {
    if (has) this.owners.set(userId, bucket);
    else this.owners.delete(userId);
  }

  /** `GET /images?path=…` (any other path under /images: the same 404 as a missing file). */
  images(ctx: Ctx): Reply | undefined {
    if (ctx.method !== 'GET' || ctx.segments.length !== 1) return undefined;
    const owner = this.owner(ctx);
    if (owner === undefined || this.owners.get(owner) !== 'images') {
      return json(404, { success: false, msg: 'Image not found.' });
    }
    return PHOTO;
  }

  /** `GET /files?path=…`: the `files` bucket, then the `images` bucket. */
  files(ctx: Ctx): Reply | undefined {
    if (ctx.method !== 'GET' || ctx.segments.length !== 1) return undefined;
    const owner = this.owner(ctx);
    if (owner === undefined || !this.owners.has(owner)) {
      return json(404, { success: false, error: 'File not found.' });
    }
    return PHOTO;
  }

  /**
   * `POST /{p}/files/users/photo` (multipart, field `file`), after authentication: the caller's
   * photo, stored in `files`. The bytes are not kept (clients only look at status and type).
   */
  upload(userId: string): Reply {
    this.set(userId, true, 'files');
    const folder = `uploads/users/${userId}/images/`;
    return json(201, {
      message: 'Image uploaded successfully',
      filename: encodeURIComponent(`${folder}photo.jpg`),
      thumbnail: encodeURIComponent(`${folder}thumbnails_200_200-photo.jpg`),
    });
  }

  private owner(ctx: Ctx): string | undefined {
    return PHOTO_PATH.exec(ctx.query.get('path') ?? '')?.[1];
  }
}

/** A stand-in's bytes: clients only look at the status and the content type. */
const PHOTO: Reply = { status: 200, body: 'PNG', contentType: 'image/png' };
