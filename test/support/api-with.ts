import { TiledeskClient, type TiledeskApi } from '../../lib';

/**
 * The real Tiledesk client for a harness's settings, with some calls replaced (e.g. a post that
 * never completes: an instance "dying" mid-post). Used as a harness `makeApi`.
 */
export function apiWith(
  settings: Record<string, string | undefined>,
  overrides: (real: TiledeskApi) => Partial<TiledeskApi>,
): TiledeskApi {
  const real = new TiledeskClient({
    apiUrl: settings['TiledeskApiUrl']!,
    projectId: settings['TiledeskProjectId']!,
    timeoutMs: 5000,
  });
  return Object.assign(Object.create(real) as TiledeskApi, overrides(real));
}
