import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runDoctor } from '../../lib/cli/doctor';
import { parseDotenv } from '../../lib/cli/dotenv';
import { startHarness, type Harness } from '../support/harness';

/**
 * `npx botbuilder-tiledesk doctor` against the stand-in and a real bot (the harness): a good
 * setup passes; each broken setting fails with its fix; nothing secret is ever printed.
 */

const BOT_DEPARTMENT = '65a1b2c3d4e5f6a7b8c9dd01';
const PLAIN_DEPARTMENT = '65a1b2c3d4e5f6a7b8c9dd02';

describe('doctor', function () {
  this.timeout(30_000);
  let h: Harness;
  afterEach(async () => h?.stop());

  async function doctor(
    overrides: Record<string, string> = {},
    options: { fix?: boolean } = {},
  ): Promise<{ code: number; out: string[]; text: string }> {
    const out: string[] = [];
    const code = await runDoctor({
      env: { ...h.settings, ...overrides },
      cwd: tmpdir(), // no .env there
      print: (line) => out.push(line),
      ...options,
    });
    const text = out.join('\n');
    for (const secret of [
      h.standin.admin.password,
      h.standin.projectSecret,
      ...h.standin.subscriptions().map((s) => s.secret),
      ...h.standin.bots.map((b) => b.secret),
    ]) {
      expect(text, 'a secret was printed').to.not.include(secret);
    }
    expect(text).to.not.match(/eyJ[A-Za-z0-9_-]{10,}/);
    return { code, out, text };
  }

  /** The line of a check and the fix printed under it. */
  function check(out: string[], title: string): { line: string; fix: string | undefined } {
    const i = out.findIndex((l) => l.slice(2).startsWith(`${title}:`));
    expect(i, `no line for "${title}" in:\n${out.join('\n')}`).to.be.at.least(0);
    const next = out[i + 1];
    return { line: out[i]!, fix: next?.startsWith('    fix: ') ? next.slice(9) : undefined };
  }

  const standin = {
    departments: [
      { _id: BOT_DEPARTMENT, name: 'Bot desk', id_bot: 'b0b0b0b0b0b0b0b0b0b0b0b0' },
      { _id: PLAIN_DEPARTMENT, name: 'Human Support' },
    ],
    projectName: 'Acme support',
  };

  it('a good setup: every check passes, exit code 0', async () => {
    h = await startHarness({ standin, settings: { TiledeskDepartmentId: PLAIN_DEPARTMENT } });
    const { code, out, text } = await doctor();
    console.log(out.map((l) => `      ${l}`).join('\n'));
    expect(code).to.equal(0);
    expect(out.filter((l) => l.startsWith('✗'))).to.deep.equal([]);
    for (const title of [
      'settings',
      'Tiledesk API',
      'sign-in',
      'project',
      'admin role',
      'department',
      'subscription message.create.request.channel.botframework',
      'subscription request.close',
      'webhook URL',
    ]) {
      expect(check(out, title).line, title).to.match(/^✓ /);
    }
    expect(text).to.include('"Acme support"');
    expect(text).to.include('"Human Support"');
    expect(out.at(-1)).to.equal('All 10 checks passed.');
    // The doctor's probe is not our own start() probe: counted as one refusal, nothing else.
    expect(h.tiledesk.health().webhook.refused).to.deep.equal({ secret: 1 });
  });

  const broken: {
    name: string;
    settings: (h: Harness) => Record<string, string>;
    check: string;
    detail: RegExp;
    fix: RegExp;
  }[] = [
    {
      name: 'wrong password',
      settings: () => ({ TiledeskPassword: 'not-the-password' }),
      check: 'sign-in',
      detail: /cannot sign in: wrong password/,
      fix: /TiledeskEmail and TiledeskPassword/,
    },
    {
      name: 'unknown email',
      settings: () => ({ TiledeskEmail: 'nobody@example.com' }),
      check: 'sign-in',
      detail: /no Tiledesk user with this email/,
      fix: /TiledeskEmail and TiledeskPassword/,
    },
    {
      name: 'Tiledesk unreachable',
      settings: () => ({ TiledeskApiUrl: 'http://127.0.0.1:9' }),
      check: 'Tiledesk API',
      detail: /cannot reach http:\/\/127\.0\.0\.1:9: ECONNREFUSED/,
      fix: /check TiledeskApiUrl/,
    },
    {
      name: 'wrong project',
      settings: () => ({ TiledeskProjectId: '65a1b2c3d4e5f6a7b8c9d0ff' }),
      check: 'project',
      detail: /is not a member of project 65a1b2c3d4e5f6a7b8c9d0ff/,
      fix: /check TiledeskProjectId/,
    },
    {
      name: 'unknown department',
      settings: () => ({ TiledeskDepartmentId: '65a1b2c3d4e5f6a7b8c9dd99' }),
      check: 'department',
      detail: /no department 65a1b2c3d4e5f6a7b8c9dd99/,
      fix: /existing department of the project without a bot/,
    },
    {
      name: 'department with a Tiledesk bot',
      settings: () => ({ TiledeskDepartmentId: BOT_DEPARTMENT }),
      check: 'department',
      detail: /"Bot desk" .* has a Tiledesk bot/,
      fix: /remove the bot from the department/,
    },
    {
      name: 'webhook URL unreachable',
      settings: () => ({ TiledeskWebhookUrl: 'http://127.0.0.1:9/api/tiledesk' }),
      check: 'webhook URL',
      detail: /unreachable: ECONNREFUSED/,
      fix: /check TiledeskWebhookUrl/,
    },
    {
      name: 'webhook path wrong',
      settings: (harness) => ({ TiledeskWebhookUrl: `${harness.bot.url}/api/wrong` }),
      check: 'webhook URL',
      detail: /not found \(404\)/,
      fix: /mount tiledesk.webhookHandler at the path/,
    },
    {
      name: 'an invalid setting (not echoed)',
      settings: () => ({ TiledeskProjectId: 'my-project-name', TiledeskEmail: '' }),
      check: 'setting TiledeskProjectId',
      detail: /must be 24 hexadecimal characters/,
      fix: /set it to your Tiledesk project id/,
    },
  ];

  for (const b of broken) {
    it(`${b.name}: fails with its fix, exit code 1`, async () => {
      h = await startHarness({ standin });
      const { code, out, text } = await doctor(b.settings(h));
      expect(code).to.equal(1);
      const { line, fix } = check(out, b.check);
      expect(line).to.match(/^✗ /);
      expect(line).to.match(b.detail);
      expect(fix).to.match(b.fix);
      expect(text).to.not.include('my-project-name');
    });
  }

  it('missing subscriptions: fail with the fix; --fix creates them; the bot then starts clean', async () => {
    h = await startHarness({ standin, noStart: true });
    const first = await doctor();
    expect(first.code).to.equal(1);
    const missing = check(first.out, 'subscription request.close');
    expect(missing.line).to.match(/^✗ .*missing/);
    expect(missing.fix).to.include('doctor --fix');
    expect(h.standin.subscriptions()).to.have.length(0);

    const fixed = await doctor({}, { fix: true });
    expect(fixed.code).to.equal(0);
    expect(check(fixed.out, 'subscription request.close').line).to.match(/^✓ .*: created/);
    expect(h.standin.subscriptions()).to.have.length(3);

    // The bot learns the secrets of the subscriptions the doctor made (Tiledesk's duplicate
    // answer carries them) and creates no others.
    const started = await h.tiledesk.start();
    expect(started.ok).to.equal(true);
    expect(h.standin.subscriptions()).to.have.length(3);
    expect((await doctor()).code).to.equal(0);
  });

  it('TiledeskMirrorVisibility=bot: the Tiledesk bot and request.update are checked; only start() creates the bot', async () => {
    h = await startHarness({
      standin,
      noStart: true,
      settings: { TiledeskMirrorVisibility: 'bot' },
    });
    const before = await doctor({}, { fix: true });
    expect(before.code).to.equal(1);
    const missing = check(before.out, 'Tiledesk bot');
    expect(missing.line).to.match(/^✗ .*no external bot of the project points at/);
    expect(missing.fix).to.match(/^start the bot/);
    expect(h.standin.bots).to.deep.equal([]); // never by doctor: it could not keep the secret
    expect(check(before.out, 'subscription request.update').line).to.match(/^✓ .*: created/);

    expect((await h.tiledesk.start()).ok).to.equal(true);
    const after = await doctor();
    expect(after.code).to.equal(0);
    const [bot] = h.standin.bots;
    expect(check(after.out, 'Tiledesk bot').line).to.equal(
      `✓ Tiledesk bot: Echo Bot (${bot!._id}) → ${h.settings.TiledeskWebhookUrl}`,
    );
  });

  it('reads a .env file in the current directory; the environment wins', async () => {
    h = await startHarness({ standin });
    const dir = mkdtempSync(join(tmpdir(), 'doctor-'));
    try {
      const lines = Object.entries(h.settings).map(([k, v]) => `${k}="${v ?? ''}"`);
      writeFileSync(
        join(dir, '.env'),
        `# bot settings\n${lines.join('\n')}\nTiledeskPassword=wrong # a comment\n`,
      );
      const out: string[] = [];
      expect(await runDoctor({ env: {}, cwd: dir, print: (l) => out.push(l) })).to.equal(1);
      expect(check(out, 'sign-in').line).to.match(/wrong password/);
      const out2: string[] = [];
      const env = { TiledeskPassword: h.standin.admin.password };
      expect(await runDoctor({ env, cwd: dir, print: (l) => out2.push(l) })).to.equal(0);
      expect(out2[1]).to.match(/settings from the environment and .*\.env \(\d+ keys\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npx botbuilder-tiledesk doctor: the bin runs, prints, and exits with the code', async () => {
    h = await startHarness({ standin });
    const dir = mkdtempSync(join(tmpdir(), 'doctor-bin-'));
    try {
      const lines = Object.entries(h.settings).map(([k, v]) => `${k}=${v ?? ''}`);
      writeFileSync(join(dir, '.env'), lines.join('\n'));
      const bin = join(__dirname, '..', '..', 'lib', 'cli', 'bin.ts');
      const run = (args: string[]) =>
        new Promise<{ code: number; stdout: string }>((resolve) => {
          const env: Record<string, string> = {};
          for (const [k, v] of Object.entries(process.env)) {
            if (v !== undefined && !k.startsWith('Tiledesk')) env[k] = v;
          }
          execFile(
            process.execPath,
            ['--require', require.resolve('tsx/cjs'), bin, ...args],
            { cwd: dir, env, timeout: 20_000 },
            (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout }),
          );
        });
      const ok = await run(['doctor']);
      expect(ok.stdout).to.include('All 10 checks passed.');
      expect(ok.code).to.equal(0);
      writeFileSync(join(dir, '.env'), `${lines.join('\n')}\nTiledeskPassword=wrong\n`);
      const failed = await run(['doctor']);
      expect(failed.code).to.equal(1);
      expect(failed.stdout).to.include('✗ sign-in');
      expect((await run(['frobnicate'])).code).to.equal(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseDotenv', () => {
  it('reads the common subset of the format', () => {
    const { values, skipped } = parseDotenv(
      [
        '# comment',
        'A=1',
        'export B = two words ',
        "C='single # not a comment'",
        'D="double \\"quoted\\"\\nnext"',
        'E=value # comment',
        'F=url#fragment',
        'G=',
        'not a line',
        'H="multi',
        'line"',
      ].join('\n'),
    );
    expect(values).to.deep.equal({
      A: '1',
      B: 'two words',
      C: 'single # not a comment',
      D: 'double "quoted"\nnext',
      E: 'value',
      F: 'url#fragment',
      G: '',
      H: 'multi\nline',
    });
    expect(skipped).to.equal(1);
  });
});
