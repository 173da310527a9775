/**
 * Profile photos. An agent uploads one in the dashboard (`POST /{p}/files/users/photo`,
 * `S:routes/filesp.js#L303-371`), stored at the fixed path
 * `uploads/users/<user id>/images/thumbnails_200_200-photo.jpg`; anyone reads it, without a
 * token, at `GET /images?path=<that path>` (`S:routes/images.js#L476-510`, mounted at
 * `S:app.js#L535`): the file, or 404 `{success:false, msg:'Image not found.'}`. No user, project
 * user or message document says whether a photo exists.
 */
import { type Ctx, json, type Reply } from './http-util';

const PHOTO_PATH = /^uploads\/users\/([^/]+)\/images\/thumbnails_200_200-photo\.jpg$/;

export class Photos {
  private readonly owners = new Set<string>();

  set(userId: string, has: boolean): void {
    if (has) this.owners.add(userId);
    else this.owners.delete(userId);
  }

  /** `GET /images?path=…` (any other path under /images: the same 404 as a missing file). */
  handle(ctx: Ctx): Reply | undefined {
    if (ctx.method !== 'GET' || ctx.segments.length !== 1) return undefined;
    const owner = PHOTO_PATH.exec(ctx.query.get('path') ?? '')?.[1];
    if (owner === undefined || !this.owners.has(owner)) {
      return json(404, { success: false, msg: 'Image not found.' });
    }
    // A stand-in's bytes: clients only look at the status and the content type.
    return { status: 200, body: 'JFIF', contentType: 'image/jpeg' };
  }
}
