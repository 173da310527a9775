import type { TiledeskApiError } from '../errors';
import { bareMessage } from '../logger';

/** How a doctor check ended. */
export type Mark = 'ok' | 'fail' | 'skip' | 'note';

/** A Tiledesk failure without its method and path, for a check's line. */
export function detailOf(err: TiledeskApiError): string {
  return (
    bareMessage(err)
      .replace(/^Tiledesk \S+ \S+ failed ?/, '')
      .replace(/^: /, '') || 'failed'
  );
}
