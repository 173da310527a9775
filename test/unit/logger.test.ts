import { expect } from 'chai';
import sinon from 'sinon';
import { TiledeskApiError, TiledeskError } from '../../lib/errors';
import { createLogger, logError } from '../../lib/logger';

/** One prefix per line, events with fields, no credential ever printed. */
describe('logger', () => {
  let warn: sinon.SinonStub;
  let error: sinon.SinonStub;
  beforeEach(() => {
    warn = sinon.stub(console, 'warn');
    error = sinon.stub(console, 'error');
  });
  afterEach(() => sinon.restore());

  it('the default console line: one prefix, the event, its fields as JSON', () => {
    createLogger().warn('webhook.refused', { reason: 'secret', status: 401 });
    expect(warn.args).to.deep.equal([
      ['[botbuilder-tiledesk] webhook.refused {"reason":"secret","status":401}'],
    ]);
  });

  it('an error is an "error" event whose message has no second prefix', () => {
    const logger = createLogger();
    const e = new TiledeskApiError('TILEDESK_NETWORK', {
      method: 'POST',
      path: '/auth/signin',
      detail: 'ECONNREFUSED',
      retryable: true,
    });
    expect(e.message).to.match(/^\[botbuilder-tiledesk\] /); // thrown errors keep it
    logError(logger, e);
    expect(error.callCount).to.equal(1);
    const line = String(error.firstCall.args[0]);
    expect(line.match(/\[botbuilder-tiledesk\]/g)).to.have.length(1);
    expect(line).to.equal(
      '[botbuilder-tiledesk] error {"code":"TILEDESK_NETWORK","message":"Tiledesk POST /auth/signin failed: ECONNREFUSED","method":"POST","path":"/auth/signin"}',
    );
    // A host's own message that already carries the prefix is not prefixed twice either.
    logger.error(new TiledeskError('TILEDESK_CONFIG', 'x').message);
    expect(String(error.secondCall.args[0])).to.equal('[botbuilder-tiledesk] x');
  });

  it('fields named like credentials are redacted, for the default and the host logger', () => {
    const seen: unknown[] = [];
    const host = createLogger({ info: (_m, c) => seen.push(c) });
    const fields = {
      token: 'eyJabc',
      webhookSecret: 's3',
      password: 'p',
      Authorization: 'JWT x',
      ok: 1,
    };
    host.info('x', fields);
    createLogger().warn('x', fields);
    const redacted = {
      token: '[redacted]',
      webhookSecret: '[redacted]',
      password: '[redacted]',
      Authorization: '[redacted]',
      ok: 1,
    };
    expect(seen).to.deep.equal([redacted]);
    expect(String(warn.firstCall.args[0])).to.equal(
      `[botbuilder-tiledesk] x ${JSON.stringify(redacted)}`,
    );
    expect(fields.token).to.equal('eyJabc'); // the caller's object is not changed
  });

  it('debug and info are silent by default', () => {
    const log = sinon.stub(console, 'log');
    createLogger().info('x');
    createLogger().debug('x');
    expect(log.callCount + warn.callCount + error.callCount).to.equal(0);
  });
});
