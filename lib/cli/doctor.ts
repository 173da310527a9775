import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AxiosInstance } from 'axios';
import { PROBE_FIX } from '../core/health';
import { REQUEST_UPDATE_EVENT } from '../core/request-update';
import { webhookEvents } from '../core/subscriptions';
import { TYPING_EVENT } from '../core/typing';
import { probeWebhook, redactUrl } from '../core/webhook-probe';
import { TiledeskApiError, TiledeskConfigError } from '../errors';
import { type AppSettings, resolveSettings, type TiledeskSettings } from '../settings';
import { TiledeskClient } from '../tiledesk/client';
import type { Subscription } from '../tiledesk/wire';
import { checkTiledeskBot } from './doctor-bot';
import { detailOf, type Mark } from './report';
import { parseDotenv } from './dotenv';

/**
 * `npx botbuilder-tiledesk doctor [--fix] [--env-file <path>]`: checks a bot's Tiledesk setup
 * from the same app settings the bot reads (the environment, and a `.env` file in the current
 * directory for keys the environment does not set, as dotenv does), and prints one line per
 * check with the fix for each failure. Exit code 0 when every check passes, 1 otherwise.
 *
 * It changes nothing in Tiledesk, except with `--fix`: then it creates the missing webhook
 * subscriptions (the bot learns their secret itself on its next start). It never prints a
 * password, secret or token; the webhook URL is shown with long path segments masked.
 */

export interface DoctorOptions {
  /** The environment (default `process.env`); its keys win over the `.env` file's. */
  env?: AppSettings;
  /** Directory whose `.env` is read (default the current directory). */
  cwd?: string;
  /** Another env file instead of `<cwd>/.env`. */
  envFile?: string;
  /** Create missing webhook subscriptions. */
  fix?: boolean;
  /** One output line per call (default `console.log`). */
  print?: (line: string) => void;
  /** HTTP client for the Tiledesk calls (tests, proxies). */
  http?: AxiosInstance;
}

interface Line {
  mark: Mark;
  title: string;
  detail: string;
  fix?: string;
}

const SYMBOL: Record<Mark, string> = { ok: '✓', fail: '✗', skip: '-', note: '!' };

export async function runDoctor(options: DoctorOptions = {}): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const lines: Line[] = [];
  const report = (mark: Mark, title: string, detail: string, fix?: string) => {
    const line: Line = { mark, title, detail, ...(fix ? { fix } : {}) };
    lines.push(line);
    print(`${SYMBOL[mark]} ${title}: ${detail}`);
    if (fix) print(`    fix: ${fix}`);
  };
  print('botbuilder-tiledesk doctor');

  // 1. Settings.
  const { settings: app, source } = readAppSettings(options);
  print(`  settings from ${source}`);
  let settings: TiledeskSettings;
  try {
    settings = resolveSettings(app);
  } catch (err) {
    if (!(err instanceof TiledeskConfigError)) throw err;
    for (const issue of err.issues) {
      const [problem, fix] = splitProblem(issue.problem);
      report('fail', `setting ${issue.key}`, problem, fix);
    }
    return summary(lines, print);
  }
  report(
    'ok',
    'settings',
    `valid (project ${settings.projectId}, channel ${settings.channelName}, webhook ${redactUrl(settings.webhookUrl)})`,
  );
  await new Checks(settings, options, report).run();
  return summary(lines, print);
}

class Checks {
  private readonly client: TiledeskClient;
  private readonly api: string;
  private reachable = true;

  constructor(
    private readonly s: TiledeskSettings,
    private readonly options: DoctorOptions,
    private readonly report: (mark: Mark, title: string, detail: string, fix?: string) => void,
  ) {
    this.client = new TiledeskClient({
      apiUrl: s.apiUrl,
      projectId: s.projectId,
      timeoutMs: s.timeoutMs,
      ...(options.http ? { http: options.http } : {}),
    });
    this.api = redactUrl(s.apiUrl);
  }

  async run(): Promise<void> {
    const token = await this.signIn();
    const member = token !== undefined && (await this.project(token));
    const list = member ? await this.adminRole(token) : undefined;
    if (this.reachable) await this.department();
    else this.report('skip', 'department', 'not checked (Tiledesk not reachable)');
    if (list) await this.subscriptions(token!, list);
    else this.report('skip', 'webhook subscriptions', 'not checked (needs an admin sign-in)');
    if (this.s.mirrorVisibility === 'bot') {
      if (list) await checkTiledeskBot(this.client, this.s.webhookUrl, token!, this.report);
      else this.report('skip', 'Tiledesk bot', 'not checked (needs an admin sign-in)');
    }
    await this.webhook();
  }

  private async signIn(): Promise<string | undefined> {
    try {
      const { token } = await this.client.signIn(this.s.email, this.s.password);
      this.report('ok', 'Tiledesk API', `reachable at ${this.api}`);
      this.report('ok', 'sign-in', `signed in as ${this.s.email}`);
      return token;
    } catch (err) {
      if (!(err instanceof TiledeskApiError)) throw err;
      if (err.retryable) {
        this.reachable = false;
        this.report(
          'fail',
          'Tiledesk API',
          `cannot reach ${this.api}: ${detailOf(err)}`,
          'check TiledeskApiUrl (Tiledesk cloud: https://api.tiledesk.com/v3; self-hosted: the server root, e.g. https://tiledesk.example.com/api) and that this machine can reach it',
        );
      } else if (err.status === 404 || err.status === undefined) {
        this.reachable = false;
        this.report(
          'fail',
          'Tiledesk API',
          `${this.api}/auth/signin is not Tiledesk's sign-in (${detailOf(err)})`,
          'set TiledeskApiUrl to the REST base URL: https://api.tiledesk.com/v3 for the cloud (with /v3), the server root when self-hosted',
        );
      } else {
        this.report('ok', 'Tiledesk API', `reachable at ${this.api}`);
        const wrongPassword = /wrong password/i.test(err.message);
        this.report(
          'fail',
          'sign-in',
          `${this.s.email} cannot sign in: ${wrongPassword ? 'wrong password' : /not found/i.test(err.message) ? 'no Tiledesk user with this email' : detailOf(err)}`,
          'check TiledeskEmail and TiledeskPassword: a Tiledesk account with the admin role in the project',
        );
      }
      this.report('skip', 'project', 'not checked (needs a sign-in)');
      return undefined;
    }
  }

  private async project(token: string): Promise<boolean> {
    try {
      const project = await this.client.getProject(token);
      this.report('ok', 'project', `"${project.name ?? '?'}" (${this.s.projectId})`);
      return true;
    } catch (err) {
      if (!(err instanceof TiledeskApiError)) throw err;
      const fix = `check TiledeskProjectId (Dashboard → Settings → Project), or invite ${this.s.email} to the project as an admin`;
      if (err.status === 403) {
        this.report(
          'fail',
          'project',
          `${this.s.email} is not a member of project ${this.s.projectId} (or there is no such project)`,
          fix,
        );
      } else if (err.status === 404) {
        this.report('fail', 'project', `project ${this.s.projectId} not found or not active`, fix);
      } else {
        this.report('fail', 'project', `cannot read project ${this.s.projectId}: ${detailOf(err)}`);
      }
      return false;
    }
  }

  private async adminRole(token: string): Promise<Subscription[] | undefined> {
    try {
      const list = await this.client.listSubscriptions(token);
      this.report('ok', 'admin role', `${this.s.email} may manage webhook subscriptions`);
      return list;
    } catch (err) {
      if (!(err instanceof TiledeskApiError)) throw err;
      this.report(
        'fail',
        'admin role',
        err.status === 403
          ? `${this.s.email} is not an admin of the project: it cannot manage webhook subscriptions`
          : `cannot list webhook subscriptions: ${detailOf(err)}`,
        err.status === 403
          ? 'give the account the admin role (Dashboard → Settings → Teammates), or use an admin account'
          : undefined,
      );
      return undefined;
    }
  }

  private async department(): Promise<void> {
    const id = this.s.departmentId;
    const title = 'department';
    const name = id ?? 'default';
    const fix = id
      ? 'set TiledeskDepartmentId to the id of an existing department of the project without a bot (Dashboard → Settings → Departments), or leave it unset for the default department'
      : 'create a default department without a bot, or set TiledeskDepartmentId';
    try {
      const dep = await this.client.getDepartment(name);
      if (!dep) {
        this.report(
          'fail',
          title,
          id ? `no department ${id}` : 'the project has no default department',
          fix,
        );
      } else if (dep.id_project !== undefined && dep.id_project !== this.s.projectId) {
        this.report('fail', title, `department ${name} belongs to another project`, fix);
      } else if (dep.id_bot) {
        this.report(
          'fail',
          title,
          `"${dep.name ?? name}" (${dep._id}) has a Tiledesk bot: it, not your bot, would answer the mirrored requests`,
          `remove the bot from the department (Dashboard → Settings → Departments → ${dep.name ?? name}), or ${id ? 'set TiledeskDepartmentId to a department without a bot' : 'set TiledeskDepartmentId to a department without a bot'}`,
        );
      } else {
        this.report(
          'ok',
          title,
          `"${dep.name ?? name}" (${id ?? `default, ${dep._id}`}) has no Tiledesk bot`,
        );
      }
    } catch (err) {
      if (!(err instanceof TiledeskApiError)) throw err;
      this.report('fail', title, `cannot read department ${name}: ${detailOf(err)}`, fix);
    }
  }

  private async subscriptions(token: string, list: Subscription[]): Promise<void> {
    const target = this.s.webhookUrl;
    const shown = redactUrl(target);
    const extra = [
      ...(this.s.agentTyping ? [TYPING_EVENT] : []),
      ...(this.s.mirrorVisibility === 'bot' ? [REQUEST_UPDATE_EVENT] : []),
    ];
    for (const event of webhookEvents(this.s.channelName, extra)) {
      const title = `subscription ${event}`;
      const ours = list.find((x) => x.event === event && x.target === target);
      if (ours) this.report('ok', title, `→ ${shown} (${ours._id})`);
      else if (this.options.fix) await this.create(token, event, title);
      else {
        this.report(
          'fail',
          title,
          `missing: Tiledesk will not send ${event} to ${shown}`,
          'start the bot (start() creates it), or run `npx botbuilder-tiledesk doctor --fix`',
        );
      }
      for (const other of list.filter((x) => x.event === event && x.target !== target)) {
        this.report(
          'note',
          title,
          `also sent to ${redactUrl(other.target)} (${other._id}); delete that subscription if the URL is an old one of this bot`,
        );
      }
    }
  }

  private async create(token: string, event: string, title: string): Promise<void> {
    try {
      const sub = await this.client.createSubscription(token, event, this.s.webhookUrl);
      if (sub.target === this.s.webhookUrl) {
        this.report('ok', title, `created → ${redactUrl(sub.target)} (${sub._id})`);
      } else {
        this.report(
          'fail',
          title,
          `Tiledesk answered another target's subscription (${sub._id})`,
          'delete the subscriptions of this event that point elsewhere, then run doctor --fix again',
        );
      }
    } catch (err) {
      if (!(err instanceof TiledeskApiError)) throw err;
      this.report('fail', title, `could not be created: ${detailOf(err)}`);
    }
  }

  private async webhook(): Promise<void> {
    const outcome = await probeWebhook(this.s.webhookUrl, {
      timeoutMs: Math.min(10_000, this.s.timeoutMs),
    });
    const shown = redactUrl(this.s.webhookUrl);
    if (outcome.ok) {
      this.report(
        'ok',
        'webhook URL',
        `${shown} reaches a botbuilder-tiledesk webhook handler (${outcome.status} without a secret, as it should)`,
      );
    } else {
      const status = outcome.status === undefined ? '' : ` (${outcome.status})`;
      const detail = outcome.detail ? `: ${outcome.detail}` : '';
      this.report(
        'fail',
        'webhook URL',
        `${shown}: ${outcome.reason}${status}${detail}`,
        `${PROBE_FIX[outcome.reason]}; is the bot running?`,
      );
    }
    const url = new URL(this.s.webhookUrl);
    if (url.protocol === 'http:' && !/^(localhost|127\.0\.0\.1|\[::1\])$/.test(url.hostname)) {
      this.report(
        'note',
        'webhook URL',
        'plain http: Tiledesk would send the webhook secret unencrypted; use https',
      );
    }
  }
}

function readAppSettings(options: DoctorOptions): { settings: AppSettings; source: string } {
  const env = options.env ?? process.env;
  const file = options.envFile ?? resolve(options.cwd ?? process.cwd(), '.env');
  const sources = ['the environment'];
  let fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    const parsed = parseDotenv(readFileSync(file, 'utf8'));
    fromFile = parsed.values;
    const skipped = parsed.skipped ? `, ${parsed.skipped} unreadable line(s) skipped` : '';
    sources.push(`${file} (${Object.keys(fromFile).length} keys${skipped})`);
  } else if (options.envFile) {
    sources.push(`${file} (not found)`);
  }
  const settings: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) settings[k] = v;
  return { settings, source: sources.join(' and ') };
}

/** `problem. Set it to …` → [problem, fix] (TiledeskConfigError's wording; values never echoed). */
function splitProblem(problem: string): [string, string | undefined] {
  const at = problem.indexOf('. Set it to ');
  if (at < 0) return [problem, undefined];
  return [
    problem.slice(0, at),
    `set it to ${problem.slice(at + '. Set it to '.length).replace(/\.$/, '')}`,
  ];
}

function summary(lines: Line[], print: (line: string) => void): number {
  const failed = lines.filter((l) => l.mark === 'fail').length;
  const passed = lines.filter((l) => l.mark === 'ok').length;
  print(
    failed === 0
      ? `All ${passed} checks passed.`
      : `${failed} check(s) failed, ${passed} passed: see the fix under each ✗.`,
  );
  return failed === 0 ? 0 : 1;
}
