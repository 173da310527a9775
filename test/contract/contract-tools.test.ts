import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { matches, parseDivergences } from './divergences';
import { diff, Normalizer } from './normalize';

/** The contract test's own tools, checked without a real server. */
describe('contract tools: normalise, diff, divergence table', () => {
  it('normalises roles, ids, times, tokens and volatile numbers; keeps behaviour', () => {
    const n = new Normalizer();
    n.role('65a1b2c3d4e5f6a7b8c9d0e1', 'project');
    n.role('support-group-65a1b2c3d4e5f6a7b8c9d0e1-abc', 'request:main');
    expect(
      n.normalize({
        id_project: '65a1b2c3d4e5f6a7b8c9d0e1',
        recipient: 'support-group-65a1b2c3d4e5f6a7b8c9d0e1-abc',
        sender: '65a1b2c3d4e5f6a7b8c9d0e1_webchat_x',
        _id: '6b0bd7498ab5914d39f28c86',
        createdAt: '2026-11-29T07:42:01.655Z',
        token: 'JWT eyJhbGciOi.eyJzdWIi.c2ln',
        secret: '0b8f3a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
        timestamp: 1795701640620,
        status: 200,
        text: 'Hello',
        gone: undefined,
      }),
    ).to.deep.equal({
      id_project: '<project>',
      recipient: '<request:main>',
      sender: '<project>_webchat_x',
      _id: '<objectId>',
      createdAt: '<date>',
      token: 'JWT <jwt>',
      secret: '<uuid>',
      timestamp: '<number>',
      status: 200,
      text: 'Hello',
    });
  });

  it('diffs field by field: missing (real only), extra (stand-in only), value, type, arrays by index', () => {
    const found = diff(
      'step',
      { a: 1, b: { c: 'x' }, list: [1, 2], only: true, t: 'text' },
      { a: 2, b: { c: 'x', d: 1 }, list: [1], t: 5 },
    ).map((d) => `${d.path} ${d.kind}`);
    expect(found).to.deep.equal([
      'a value',
      'b.d extra',
      'list[1] missing',
      'only missing',
      't type',
    ]);
    expect(diff('step', { a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).to.deep.equal([]);
  });

  it('reads the divergence table and matches with * wildcards and kinds', () => {
    const rows = parseDivergences(
      [
        'prose | with pipes is ignored',
        '',
        '| step | path | kind | reason |',
        '| --- | --- | --- | --- |',
        '| `*` | `*snapshot.agents` | missing | select: false |',
        '| close | `body.x*` | `*` | Intermittent: a race |',
        '',
        '| what | why |',
        '| --- | --- |',
        '| not | a divergence |',
      ].join('\n'),
    );
    expect(rows.map((r) => [r.step, r.path, r.kind])).to.deep.equal([
      ['*', '*snapshot.agents', 'missing'],
      ['close', 'body.x*', '*'],
    ]);
    const d = (step: string, path: string, kind: 'missing' | 'extra') => ({
      step,
      path,
      kind,
      real: '',
      standin: '',
    });
    expect(matches(rows[0]!, d('route', 'body.request.snapshot.agents', 'missing'))).to.equal(true);
    expect(matches(rows[0]!, d('route', 'body.request.snapshot.agents', 'extra'))).to.equal(false);
    expect(matches(rows[1]!, d('close', 'body.x.y[0]', 'extra'))).to.equal(true);
    expect(matches(rows[1]!, d('close again', 'body.x', 'extra'))).to.equal(false);
    expect(() => parseDivergences('| step | path | kind | reason |\n| a | b | odd | r |')).to.throw(
      /bad kind/,
    );
  });

  it('the committed table parses, and every row has a reason', () => {
    const rows = parseDivergences(readFileSync(join(__dirname, 'divergences.md'), 'utf8'));
    expect(rows.length).to.be.greaterThan(0);
    for (const r of rows) expect(r.reason.length, r.path).to.be.greaterThan(20);
  });
});
