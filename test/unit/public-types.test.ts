import { expect } from 'chai';
import type { z } from 'zod';
import { Subscription, TiledeskMessage, TiledeskRequest } from '../../lib/tiledesk/wire';

/**
 * The published `.d.ts` names no zod type (consumers on TypeScript 5.0 cannot compile zod 4's
 * declarations), so the wire types are written out as interfaces and the schemas are internal.
 * These checks fail `npm run typecheck` when a schema and its interface drift apart, in either
 * direction (`satisfies` in wire.ts only checks that the schema's output fits the interface).
 */
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const agree: {
  message: Same<z.output<typeof TiledeskMessage>, TiledeskMessage>;
  request: Same<z.output<typeof TiledeskRequest>, TiledeskRequest>;
  subscription: Same<z.output<typeof Subscription>, Subscription>;
} = { message: true, request: true, subscription: true };

describe('public wire types', () => {
  it('are the same as what the internal schemas parse (checked by the compiler)', () => {
    expect(agree).to.deep.equal({ message: true, request: true, subscription: true });
  });
});
