/** The sample bot's app settings for a target, and a free loopback port (the e2e suites share them). */
import { createServer } from 'node:net';
import type { E2eTarget, IdentityMode } from './target';

export function sampleEnv(
  target: E2eTarget,
  mode: IdentityMode,
  port: number,
  webhookUrl: string,
  botName: string,
): Record<string, string> {
  const env: Record<string, string> = {
    PORT: String(port),
    MicrosoftAppId: '',
    TiledeskApiUrl: target.apiUrl,
    TiledeskProjectId: target.projectId,
    TiledeskEmail: target.admin.email,
    TiledeskPassword: target.admin.password,
    TiledeskWebhookUrl: webhookUrl,
    TiledeskBotName: botName,
    TILEDESK_TEST_TRIGGERS: '1',
  };
  if (target.departmentId) env['TiledeskDepartmentId'] = target.departmentId;
  if (mode === 'secret') {
    if (!target.projectSecret) throw new Error('the secret mode needs the project secret');
    env['TiledeskProjectSecret'] = target.projectSecret;
  }
  return env;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
