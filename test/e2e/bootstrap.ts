/**
 * `--bootstrap`: everything the suite needs, created through the REST API on a fresh self-hosted
 * server (signup must be open): the bot's admin account, a project, its secret key, a department
 * without a Tiledesk bot, and an agent. Every signed-up user gets its own phone number: the
 * server's `users.phone` index is unique and not sparse, so a second user without a phone is
 * refused (../shared/real-tiledesk/README.md).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { field, Rest } from './rest';
import type { E2eAccount, E2eTarget } from './target';

export interface BootstrapOptions {
  /** Short label in the names (project, department, e-mail addresses). */
  label: string;
  /** Agent's first and last name (what the user is told: "Anna Rossi has joined the chat."). */
  agentName?: [string, string];
  /** The bot's admin account's first and last name. */
  adminName?: [string, string];
  /** Give the agent a profile photo (default true). */
  agentPhoto?: boolean;
}

export async function bootstrap(apiUrl: string, o: BootstrapOptions): Promise<E2eTarget> {
  const rest = new Rest(apiUrl);
  const run = `${o.label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const admin = account(`bot-${run}`);
  const agent = account(`agent-${run}`);
  const watcher = account(`watcher-${run}`);
  await signup(rest, admin, o.adminName ?? ['Bot', 'Admin']);
  await signup(rest, agent, o.agentName ?? ['Anna', 'Rossi']);
  await signup(rest, watcher, ['Sara', 'Supervisor']);
  const adminToken = await signIn(rest, admin);

  const project = await rest.ok('POST', '/projects', {
    token: adminToken,
    body: { name: `botbuilder-tiledesk ${run}` },
  });
  const projectId = field(project, '_id');
  const p = `/${projectId}`;
  // Settings → Visitor Authentication → Generate: `jwtSecret` is the project secret.
  const keys = await rest.ok('POST', `${p}/keys/generate`, { token: adminToken, body: {} });
  const projectSecret = field(keys, 'jwtSecret');
  const department = await rest.ok('POST', `${p}/departments`, {
    token: adminToken,
    body: { name: `Human support ${run}`, routing: 'assigned', status: 1 },
  });
  await rest.ok('POST', `${p}/project_users/invite`, {
    token: adminToken,
    body: { email: agent.email, role: 'agent', user_available: true },
  });
  if (o.agentPhoto ?? true) {
    // The agent has a profile photo, as agents set in the dashboard (the user sees it).
    const form = new FormData();
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'photo.png');
    await rest.ok('POST', `${p}/files/users/photo`, { token: await signIn(rest, agent), form });
  }
  // A teammate who watches every conversation without being an admin (README, "What agents and
  // supervisors see"): a custom role (Settings → Roles) with the permission request_read_all.
  await rest.ok('POST', `${p}/roles`, {
    token: adminToken,
    body: { name: 'watcher', permissions: ['request_read_all'] },
  });
  await rest.ok('POST', `${p}/project_users/invite`, {
    token: adminToken,
    body: { email: watcher.email, role: 'watcher', user_available: false },
  });
  // The owner is an available agent-type user too: routing could pick the bot's own account.
  await rest.ok('PUT', `${p}/project_users/`, {
    token: adminToken,
    body: { user_available: false },
  });
  return {
    apiUrl,
    projectId,
    admin,
    agent,
    projectSecret,
    departmentId: field(department, '_id'),
    webhookUrl: undefined,
    botPort: 0,
    watcher,
  };
}

/** A 1×1 PNG (the server makes its 200×200 thumbnail). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

function account(local: string): E2eAccount {
  return { email: `${local}@e2e.example.com`, password: randomBytes(12).toString('base64url') };
}

async function signup(rest: Rest, who: E2eAccount, [firstname, lastname]: [string, string]) {
  const phone = `+1555${randomInt(1_000_000, 9_999_999)}`;
  const res = await rest.ok('POST', '/auth/signup', {
    body: { ...who, firstname, lastname, phone },
  });
  if (res['success'] !== true) throw new Error('signup did not succeed');
}

/** The account's token (without the `JWT ` scheme). */
export async function signIn(rest: Rest, who: E2eAccount): Promise<string> {
  const res = await rest.ok('POST', '/auth/signin', { body: who });
  return field(res, 'token').replace(/^JWT\s+/i, '');
}
