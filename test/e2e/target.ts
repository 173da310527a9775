/**
 * Which Tiledesk the end-to-end suite talks to: read from `TILEDESK_E2E_*` (a user's own project,
 * Tiledesk Cloud or self-hosted), or made by `bootstrap()` on a fresh self-hosted server.
 */

export interface E2eAccount {
  email: string;
  password: string;
}

export type IdentityMode = 'secret' | 'anonymous';

export interface E2eTarget {
  /** REST base URL without a trailing slash (cloud `https://api.tiledesk.com/v3`, bare server: root). */
  apiUrl: string;
  projectId: string;
  /** The bot's account (admin role): subscriptions and routing. Should be unavailable. */
  admin: E2eAccount;
  /** A human agent's account (agent role), the only one routing may pick while the suite runs. */
  agent: E2eAccount;
  /** The project secret (custom-JWT identities); without it only the anonymous mode runs. */
  projectSecret: string | undefined;
  /** Department of mirrored requests; default: the project's default department. */
  departmentId: string | undefined;
  /** The public URL Tiledesk must POST webhooks to; default `http://127.0.0.1:<botPort>/api/tiledesk`. */
  webhookUrl: string | undefined;
  /** The port the sample bot listens on (a tunnel forwards to it); 0 = any free port. */
  botPort: number;
  /**
   * `--bootstrap` only: a teammate with a custom role whose one permission is
   * `request_read_all` (unavailable: never routed to), who watches every conversation.
   */
  watcher?: E2eAccount;
}

/** Every setting of the suite, for the usage text and the errors. */
export const ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['TILEDESK_E2E_API_URL', 'REST base URL, e.g. https://api.tiledesk.com/v3 (required)'],
  ['TILEDESK_E2E_PROJECT_ID', 'project id, 24 hex (required)'],
  ['TILEDESK_E2E_ADMIN_EMAIL', "the bot's admin account (required; set it unavailable)"],
  ['TILEDESK_E2E_ADMIN_PASSWORD', 'its password (required)'],
  ['TILEDESK_E2E_AGENT_EMAIL', 'an agent account the suite acts as (required)'],
  ['TILEDESK_E2E_AGENT_PASSWORD', 'its password (required)'],
  ['TILEDESK_E2E_PROJECT_SECRET', 'visitor-authentication secret (optional: custom-JWT mode)'],
  ['TILEDESK_E2E_DEPARTMENT_ID', 'department without a Tiledesk bot (optional)'],
  ['TILEDESK_E2E_WEBHOOK_URL', 'public URL of the bot webhook, e.g. https://<tunnel>/api/tiledesk'],
  ['TILEDESK_E2E_BOT_PORT', 'port the sample bot listens on (the tunnel target; default any)'],
];

/** The target from `TILEDESK_E2E_*`; throws one error listing every missing or bad setting. */
export function targetFromEnv(env: NodeJS.ProcessEnv): E2eTarget {
  const problems: string[] = [];
  const get = (key: string, required: boolean): string | undefined => {
    const value = env[key]?.trim();
    if (!value) {
      if (required) problems.push(`${key} is missing`);
      return undefined;
    }
    return value;
  };
  const apiUrl = get('TILEDESK_E2E_API_URL', true)?.replace(/\/+$/, '');
  if (apiUrl && !/^https?:\/\/[^\s/]+/.test(apiUrl)) {
    problems.push('TILEDESK_E2E_API_URL must be an http(s) URL');
  }
  const projectId = get('TILEDESK_E2E_PROJECT_ID', true);
  if (projectId && !/^[0-9a-f]{24}$/i.test(projectId)) {
    problems.push('TILEDESK_E2E_PROJECT_ID must be 24 hexadecimal characters');
  }
  const port = get('TILEDESK_E2E_BOT_PORT', false);
  const botPort = port === undefined ? 0 : Number(port);
  if (!Number.isInteger(botPort) || botPort < 0 || botPort > 65535) {
    problems.push('TILEDESK_E2E_BOT_PORT must be a port number');
  }
  const webhookUrl = get('TILEDESK_E2E_WEBHOOK_URL', false);
  if (webhookUrl && botPort === 0) {
    problems.push(
      'TILEDESK_E2E_BOT_PORT is required with TILEDESK_E2E_WEBHOOK_URL (the tunnel target)',
    );
  }
  const admin = {
    email: get('TILEDESK_E2E_ADMIN_EMAIL', true) ?? '',
    password: get('TILEDESK_E2E_ADMIN_PASSWORD', true) ?? '',
  };
  const agent = {
    email: get('TILEDESK_E2E_AGENT_EMAIL', true) ?? '',
    password: get('TILEDESK_E2E_AGENT_PASSWORD', true) ?? '',
  };
  if (problems.length > 0 || !apiUrl || !projectId) {
    throw new Error(
      `End-to-end settings incomplete:\n  - ${problems.join('\n  - ')}\n` +
        'Set them in the environment, or run with --bootstrap against a fresh self-hosted server.',
    );
  }
  return {
    apiUrl,
    projectId,
    admin,
    agent,
    projectSecret: get('TILEDESK_E2E_PROJECT_SECRET', false),
    departmentId: get('TILEDESK_E2E_DEPARTMENT_ID', false),
    webhookUrl,
    botPort,
  };
}
