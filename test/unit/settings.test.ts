import { expect } from 'chai';
import { TiledeskHandoff } from '../../lib/botbuilder';
import { TiledeskConfigError } from '../../lib/errors';
import {
  type AppSettings,
  DEFAULT_HANDOFF_KEYWORDS,
  resolveSettings,
  type TiledeskSettingsInput,
} from '../../lib/settings';
import { matchPhrase } from '../../lib/core/phrases';

/** The four required keys, all valid. */
const REQUIRED: AppSettings = {
  TiledeskProjectId: '65a1b2c3d4e5f6a7b8c9d0e1',
  TiledeskEmail: 'bot-admin@acme.example',
  TiledeskPassword: 'pa55-w0rd',
  TiledeskWebhookUrl: 'https://mybot.example.com/api/tiledesk',
};

const HELP = {
  TiledeskProjectId:
    'Set it to your Tiledesk project id (24 hex characters; Dashboard → Settings → Project).',
  TiledeskEmail: 'Set it to the email of a Tiledesk account with admin role in the project.',
  TiledeskPassword: 'Set it to the password of that Tiledesk admin account.',
  TiledeskWebhookUrl:
    'Set it to the public URL where Tiledesk must POST webhooks, e.g. https://mybot.example.com/api/tiledesk.',
  TiledeskChannelName:
    'Set it to the Tiledesk channel name of mirrored requests (default botframework).',
  TiledeskTimeoutMs: 'Set it to the timeout of one Tiledesk HTTP call in milliseconds.',
  TiledeskHandoffMinScore: 'Set it to the minimum intent score (0 to 1) that starts a handoff.',
  TiledeskHandoffMethod:
    'Set it to "route" (PUT …/agent, synchronous) or "command" (the hidden \\agent message).',
  TiledeskProjectSecret:
    'Set it to the project visitor-authentication secret (Settings → Visitor Authentication), or leave it unset for anonymous end users.',
  TiledeskApiUrl:
    'Set it to the Tiledesk REST base URL, e.g. https://api.tiledesk.com/v3 (no trailing slash needed).',
} as const;

/** Runs resolveSettings and returns the TiledeskConfigError it must throw. */
function configError(app: AppSettings, overrides: TiledeskSettingsInput = {}): TiledeskConfigError {
  try {
    resolveSettings(app, overrides);
  } catch (err) {
    expect(err).to.be.instanceOf(TiledeskConfigError);
    return err as TiledeskConfigError;
  }
  throw new Error('resolveSettings did not throw');
}

describe('resolveSettings', () => {
  it('TiledeskMirrorMode and TiledeskTranscriptMaxMessages: values, and clear errors', () => {
    const ok = resolveSettings({
      ...REQUIRED,
      TiledeskMirrorMode: 'handoff',
      TiledeskTranscriptMaxMessages: '0',
    });
    expect(ok).to.include({ mirrorMode: 'handoff', transcriptMaxMessages: 0 });
    const error = configError({
      ...REQUIRED,
      TiledeskMirrorMode: 'some',
      TiledeskTranscriptMaxMessages: '5000',
    });
    expect(error.issues.map((i) => i.key)).to.deep.equal([
      'TiledeskMirrorMode',
      'TiledeskTranscriptMaxMessages',
    ]);
    expect(error.message).to.include('TiledeskMirrorMode: must be "all" or "handoff". Set it to');
    expect(error.message).to.include('TiledeskTranscriptMaxMessages: ');
    expect(error.message).not.to.include('some');
  });

  it('applies every default when only the required keys are set', () => {
    expect(resolveSettings(REQUIRED)).to.deep.equal({
      apiUrl: 'https://api.tiledesk.com/v3',
      projectId: '65a1b2c3d4e5f6a7b8c9d0e1',
      email: 'bot-admin@acme.example',
      password: 'pa55-w0rd',
      projectSecret: undefined,
      webhookUrl: 'https://mybot.example.com/api/tiledesk',
      departmentId: undefined,
      channelName: 'botframework',
      botName: 'Bot',
      mirrorVisibility: 'hidden',
      agentPrefix: '{agent}: ',
      agentTyping: true,
      uploadMaxBytes: 1_024_000,
      uploadTypes: ['.jpg', '.jpeg', '.png', '.gif', '.pdf', '.txt'],
      microsoftAppId: '',
      timeoutMs: 10_000,
      mirrorMaxAgeMs: 86_400_000,
      mirrorConcurrency: 32,
      mirrorMode: 'all',
      transcriptMaxMessages: 50,
      catchUpIntervalMs: 60_000,
      handoffKeywords: [...DEFAULT_HANDOFF_KEYWORDS],
      handoffIntent: 'Handoff',
      handoffMinScore: 0.5,
      handoffMethod: 'route',
      textConnecting: 'Connecting you to a human agent…',
      textAssigned: '{agent} has joined the chat.',
      textQueued:
        'All our agents are busy right now. Stay here: an agent will answer as soon as one is free.',
      textFailed: "Sorry, I couldn't reach a human agent right now. You can keep chatting with me.",
      textClosed: 'The agent has closed the chat. You are back with the bot.',
      leaveKeywords: [
        'end chat',
        'stop chat',
        'leave chat',
        'close chat',
        'exit chat',
        'back to the bot',
        'cancel',
        'quit',
        'chiudi chat',
        'termina chat',
        'esci',
        'annulla',
      ],
      queueTimeoutMs: 600_000,
      inactivityTimeoutMs: 1_800_000,
      botMessagesDuringHandoff: 'hold',
      textEndChatButton: 'End chat',
      textQueuedWait: ' The current wait is about {minutes} min.',
      textLeft: 'You have left the chat with the agent. I am here again: how can I help?',
      textQueueTimeout:
        'Sorry, no agent was free to take your chat. You can keep chatting with me, or ask again later.',
      textInactivity:
        'The chat with the agent was closed because nobody wrote for a while. You are back with the bot.',
      textEnded: 'The chat with the agent has ended. You are back with the bot.',
      webhookMaxBodyBytes: 1024 * 1024,
      webhookReadTimeoutMs: 10_000,
      webhookMaxReadsPerSource: 16,
      webhookProbe: true,
    });
  });

  it('reads the webhook limits and the probe flag', () => {
    const settings = resolveSettings({
      ...REQUIRED,
      TiledeskWebhookMaxBodyBytes: '65536',
      TiledeskWebhookReadTimeoutMs: '250',
      TiledeskWebhookMaxReadsPerSource: '2',
      TiledeskWebhookProbe: 'false',
    });
    expect(settings).to.deep.include({
      webhookMaxBodyBytes: 65536,
      webhookReadTimeoutMs: 250,
      webhookMaxReadsPerSource: 2,
      webhookProbe: false,
    });
    expect(resolveSettings(REQUIRED, { webhookProbe: false }).webhookProbe).to.equal(false);
    const error = configError({
      ...REQUIRED,
      TiledeskWebhookProbe: 'maybe',
      TiledeskWebhookMaxBodyBytes: '10',
    });
    expect(error.issues.map((i) => i.key)).to.deep.equal([
      'TiledeskWebhookMaxBodyBytes',
      'TiledeskWebhookProbe',
    ]);
    expect(error.message).to.not.include('maybe');
  });

  it('reads every PascalCase app setting and coerces numbers', () => {
    const settings = resolveSettings({
      ...REQUIRED,
      TiledeskApiUrl: 'http://localhost:3000',
      TiledeskProjectSecret: 'proj-secret',
      TiledeskDepartmentId: 'ABCDEF0123456789abcdef01',
      TiledeskChannelName: 'bf_teams-2',
      TiledeskBotName: 'Acme Assistant',
      MicrosoftAppId: 'app-id-1',
      TiledeskTimeoutMs: '2500',
      TiledeskHandoffIntent: 'TalkToHuman',
      TiledeskHandoffMinScore: '0.8',
      TiledeskHandoffMethod: 'command',
      TiledeskTextConnecting: '',
    });
    expect(settings).to.include({
      apiUrl: 'http://localhost:3000',
      projectSecret: 'proj-secret',
      departmentId: 'ABCDEF0123456789abcdef01',
      channelName: 'bf_teams-2',
      botName: 'Acme Assistant',
      microsoftAppId: 'app-id-1',
      timeoutMs: 2500,
      handoffIntent: 'TalkToHuman',
      handoffMinScore: 0.8,
      handoffMethod: 'command',
      // '' for a text means "say nothing" (not the default text).
      textConnecting: '',
    });
  });

  it('throws ONE TiledeskConfigError naming every missing required key', () => {
    const error = configError({});

    expect(error.code).to.equal('TILEDESK_CONFIG');
    expect(error.name).to.equal('TiledeskConfigError');
    expect(error.issues.map((i) => i.key)).to.deep.equal([
      'TiledeskProjectId',
      'TiledeskEmail',
      'TiledeskPassword',
      'TiledeskWebhookUrl',
    ]);
    expect(error.context).to.deep.equal({
      keys: ['TiledeskProjectId', 'TiledeskEmail', 'TiledeskPassword', 'TiledeskWebhookUrl'],
    });
    expect(error.message.split('\n')).to.deep.equal([
      '[botbuilder-tiledesk] Invalid Tiledesk settings:',
      `  - TiledeskProjectId: missing. ${HELP.TiledeskProjectId}`,
      `  - TiledeskEmail: missing. ${HELP.TiledeskEmail}`,
      `  - TiledeskPassword: missing. ${HELP.TiledeskPassword}`,
      `  - TiledeskWebhookUrl: missing. ${HELP.TiledeskWebhookUrl}`,
    ]);
  });

  it('treats empty-string app settings as unset (KEY= in a .env file)', () => {
    const error = configError({
      TiledeskProjectId: '',
      TiledeskEmail: '',
      TiledeskPassword: '',
      TiledeskWebhookUrl: '',
      TiledeskTimeoutMs: '',
      TiledeskHandoffMethod: '',
    });
    // Only the 4 required keys: '' for the optional ones falls back to their defaults.
    expect(error.issues).to.deep.equal([
      { key: 'TiledeskProjectId', problem: `missing. ${HELP.TiledeskProjectId}` },
      { key: 'TiledeskEmail', problem: `missing. ${HELP.TiledeskEmail}` },
      { key: 'TiledeskPassword', problem: `missing. ${HELP.TiledeskPassword}` },
      { key: 'TiledeskWebhookUrl', problem: `missing. ${HELP.TiledeskWebhookUrl}` },
    ]);
    const ok = resolveSettings({ ...REQUIRED, TiledeskTimeoutMs: '', TiledeskHandoffMethod: '' });
    expect(ok.timeoutMs).to.equal(10_000);
    expect(ok.handoffMethod).to.equal('route');
  });

  it('lists every invalid value in one error, with the problem and the help text', () => {
    const error = configError({
      ...REQUIRED,
      TiledeskProjectId: '65a1b2c3d4e5f6a7b8c9d0e', // 23 hex
      TiledeskEmail: 'not-an-email',
      TiledeskWebhookUrl: 'hooks.acme.invalid/api/tiledesk',
      TiledeskChannelName: 'bot.framework',
      TiledeskHandoffMinScore: '2',
      TiledeskHandoffMethod: 'x',
      TiledeskTimeoutMs: 'abc',
    });

    expect(error.issues.map((i) => i.key)).to.deep.equal([
      'TiledeskProjectId',
      'TiledeskEmail',
      'TiledeskWebhookUrl',
      'TiledeskChannelName',
      'TiledeskTimeoutMs',
      'TiledeskHandoffMinScore',
      'TiledeskHandoffMethod',
    ]);
    const lines = error.message.split('\n');
    expect(lines[0]).to.equal('[botbuilder-tiledesk] Invalid Tiledesk settings:');
    expect(lines).to.include.members([
      `  - TiledeskProjectId: must be 24 hexadecimal characters. ${HELP.TiledeskProjectId}`,
      `  - TiledeskEmail: must be an email address. ${HELP.TiledeskEmail}`,
      `  - TiledeskWebhookUrl: must be an http(s) URL. ${HELP.TiledeskWebhookUrl}`,
      `  - TiledeskChannelName: may only contain letters, digits, "_" and "-" (no dots). ${HELP.TiledeskChannelName}`,
      `  - TiledeskHandoffMinScore: must be a number from 0 to 1. ${HELP.TiledeskHandoffMinScore}`,
      `  - TiledeskHandoffMethod: must be "route" or "command". ${HELP.TiledeskHandoffMethod}`,
    ]);
    expect(lines).to.have.length(8);
    // The timeout line names the key and says what to put there (its wording: see the next test).
    const timeout = error.issues.find((i) => i.key === 'TiledeskTimeoutMs');
    expect(timeout?.problem.endsWith(HELP.TiledeskTimeoutMs)).to.equal(true);
    // No invalid value is echoed.
    for (const value of ['not-an-email', 'hooks.acme.invalid', 'bot.framework', "'x'", 'abc']) {
      expect(error.message).not.to.include(value);
    }
  });

  // Regression: z.coerce.number() rejects NaN before the refine runs, so a
  // non-numeric value gets zod's generic text instead of the range the refine was written for.
  it('a non-numeric number setting says which range is allowed', () => {
    const error = configError({ ...REQUIRED, TiledeskTimeoutMs: 'abc' });
    expect(error.issues).to.deep.equal([
      {
        key: 'TiledeskTimeoutMs',
        problem: `must be a number from 100 to 120000. ${HELP.TiledeskTimeoutMs}`,
      },
    ]);
  });

  const numberBounds: { name: string; app: AppSettings; key: string; ok: boolean }[] = [
    {
      name: 'timeout 99 (below 100)',
      app: { TiledeskTimeoutMs: '99' },
      key: 'TiledeskTimeoutMs',
      ok: false,
    },
    { name: 'timeout 100', app: { TiledeskTimeoutMs: '100' }, key: 'TiledeskTimeoutMs', ok: true },
    {
      name: 'timeout 120000',
      app: { TiledeskTimeoutMs: '120000' },
      key: 'TiledeskTimeoutMs',
      ok: true,
    },
    {
      name: 'timeout 120001',
      app: { TiledeskTimeoutMs: '120001' },
      key: 'TiledeskTimeoutMs',
      ok: false,
    },
    {
      name: 'min score 0',
      app: { TiledeskHandoffMinScore: '0' },
      key: 'TiledeskHandoffMinScore',
      ok: true,
    },
    {
      name: 'min score 1',
      app: { TiledeskHandoffMinScore: '1' },
      key: 'TiledeskHandoffMinScore',
      ok: true,
    },
    {
      name: 'min score -0.1',
      app: { TiledeskHandoffMinScore: '-0.1' },
      key: 'TiledeskHandoffMinScore',
      ok: false,
    },
    {
      name: 'min score 2',
      app: { TiledeskHandoffMinScore: '2' },
      key: 'TiledeskHandoffMinScore',
      ok: false,
    },
  ];
  for (const c of numberBounds) {
    it(`number bounds: ${c.name} is ${c.ok ? 'accepted' : 'rejected'}`, () => {
      if (c.ok) {
        expect(() => resolveSettings({ ...REQUIRED, ...c.app })).not.to.throw();
      } else {
        expect(configError({ ...REQUIRED, ...c.app }).issues.map((i) => i.key)).to.deep.equal([
          c.key,
        ]);
      }
    });
  }

  const badUrls = ['ftp://mybot.example.com/api', 'mybot.example.com/api', 'https://', 'not a url'];
  for (const url of badUrls) {
    it(`rejects the webhook URL ${JSON.stringify(url)}`, () => {
      const error = configError({ ...REQUIRED, TiledeskWebhookUrl: url });
      expect(error.issues).to.deep.equal([
        {
          key: 'TiledeskWebhookUrl',
          problem: `must be an http(s) URL. ${HELP.TiledeskWebhookUrl}`,
        },
      ]);
    });
  }

  // Regression: the URL regex is anchored only at the start, so anything after
  // "https://<one char>" passes, including a host with a space, which no URL parser accepts.
  it('rejects a webhook URL whose host contains a space', () => {
    expect(() => new URL('https://my bot.example.com/api/tiledesk')).to.throw(TypeError);
    const error = configError({
      ...REQUIRED,
      TiledeskWebhookUrl: 'https://my bot.example.com/api/tiledesk',
    });
    expect(error.issues.map((i) => i.key)).to.deep.equal(['TiledeskWebhookUrl']);
  });

  it('rejects a project secret that is an empty override, and an invalid department id', () => {
    const error = configError(
      { ...REQUIRED, TiledeskDepartmentId: 'default' },
      { projectSecret: '' },
    );
    expect(error.issues.map((i) => i.key)).to.deep.equal([
      'TiledeskProjectSecret',
      'TiledeskDepartmentId',
    ]);
    expect(error.issues[0]?.problem).to.equal(`must not be empty. ${HELP.TiledeskProjectSecret}`);
  });

  it('lets camelCase overrides win over app settings', () => {
    const settings = resolveSettings(
      {
        ...REQUIRED,
        TiledeskBotName: 'From env',
        TiledeskTimeoutMs: '2000',
        TiledeskHandoffMethod: 'route',
      },
      {
        botName: 'From code',
        timeoutMs: 3000,
        handoffMethod: 'command',
        projectId: 'ffffffffffffffffffffffff',
      },
    );
    expect(settings).to.include({
      botName: 'From code',
      timeoutMs: 3000,
      handoffMethod: 'command',
      projectId: 'ffffffffffffffffffffffff',
    });
  });

  it('falls back to app settings for overrides that are explicitly undefined', () => {
    const settings = resolveSettings(
      { ...REQUIRED, TiledeskBotName: 'From env' },
      { botName: undefined },
    );
    expect(settings.botName).to.equal('From env');
  });

  it('can take every required value from overrides alone', () => {
    const settings = resolveSettings(
      {},
      {
        projectId: '65a1b2c3d4e5f6a7b8c9d0e1',
        email: 'a@acme.example',
        password: 'pw',
        webhookUrl: 'https://bot.example.com/hook',
      },
    );
    expect(settings).to.include({
      projectId: '65a1b2c3d4e5f6a7b8c9d0e1',
      webhookUrl: 'https://bot.example.com/hook',
    });
  });

  const keywordCases: {
    name: string;
    app?: string;
    override?: string | string[];
    expected: string[];
  }[] = [
    {
      name: 'CSV is split and trimmed',
      app: ' human , Agent,operator ',
      expected: ['human', 'Agent', 'operator'],
    },
    { name: 'empty CSV items are dropped', app: 'human,, ,agent,', expected: ['human', 'agent'] },
    { name: 'one keyword', app: 'operatore', expected: ['operatore'] },
    { name: 'only separators → no keywords', app: ' , ,', expected: [] },
    { name: "'' in app settings → off (not the defaults)", app: '', expected: [] },
    { name: "override '' → off", override: '', expected: [] },
    { name: 'override [] → off', override: [], expected: [] },
    { name: 'unset → the defaults', expected: [...DEFAULT_HANDOFF_KEYWORDS] },
    {
      name: 'override array is trimmed too',
      override: [' real person ', '', 'human'],
      expected: ['real person', 'human'],
    },
    { name: 'override CSV string', override: 'a, b', expected: ['a', 'b'] },
  ];
  for (const c of keywordCases) {
    it(`handoff keywords: ${c.name}`, () => {
      const app = c.app === undefined ? REQUIRED : { ...REQUIRED, TiledeskHandoffKeywords: c.app };
      const overrides = c.override === undefined ? {} : { handoffKeywords: c.override };
      expect(resolveSettings(app, overrides).handoffKeywords).to.deep.equal(c.expected);
    });
  }

  const urlCases: { input: string; expected: string }[] = [
    { input: 'https://api.tiledesk.com/v3/', expected: 'https://api.tiledesk.com/v3' },
    { input: 'https://api.tiledesk.com/v3///', expected: 'https://api.tiledesk.com/v3' },
    { input: 'http://127.0.0.1:3000/', expected: 'http://127.0.0.1:3000' },
    { input: 'HTTPS://Tiledesk.Example/v3', expected: 'HTTPS://Tiledesk.Example/v3' },
  ];
  for (const c of urlCases) {
    it(`strips trailing slashes: ${c.input} → ${c.expected}`, () => {
      const settings = resolveSettings({
        ...REQUIRED,
        TiledeskApiUrl: c.input,
        TiledeskWebhookUrl: c.input,
      });
      expect(settings.apiUrl).to.equal(c.expected);
      expect(settings.webhookUrl).to.equal(c.expected);
    });
  }

  const appIdCases: {
    name: string;
    app: AppSettings;
    overrides: TiledeskSettingsInput;
    expected: string;
  }[] = [
    {
      name: "'' in app settings is kept as ''",
      app: { MicrosoftAppId: '' },
      overrides: {},
      expected: '',
    },
    { name: 'absent → default ""', app: {}, overrides: {}, expected: '' },
    { name: 'a real id is kept', app: { MicrosoftAppId: 'b1f2' }, overrides: {}, expected: 'b1f2' },
    {
      name: "override '' beats an env id",
      app: { MicrosoftAppId: 'b1f2' },
      overrides: { microsoftAppId: '' },
      expected: '',
    },
  ];
  for (const c of appIdCases) {
    it(`MicrosoftAppId: ${c.name}`, () => {
      expect(resolveSettings({ ...REQUIRED, ...c.app }, c.overrides).microsoftAppId).to.equal(
        c.expected,
      );
    });
  }

  describe("'' for texts and keyword lists", () => {
    const TEXTS = {
      TiledeskTextConnecting: 'textConnecting',
      TiledeskTextAssigned: 'textAssigned',
      TiledeskTextQueued: 'textQueued',
      TiledeskTextFailed: 'textFailed',
      TiledeskTextClosed: 'textClosed',
    } as const;

    it("every TiledeskText… set to '' in app settings (KEY= in .env) says nothing", () => {
      const empty = Object.fromEntries(Object.keys(TEXTS).map((k) => [k, '']));
      const settings = resolveSettings({ ...REQUIRED, ...empty });
      for (const option of Object.values(TEXTS)) expect(settings[option], option).to.equal('');
    });

    it('a text of blanks only is "say nothing" too (a blank message would be sent)', () => {
      const settings = resolveSettings(
        { ...REQUIRED, TiledeskTextQueued: '  \t' },
        { textClosed: ' \n ' },
      );
      expect(settings.textQueued).to.equal('');
      expect(settings.textClosed).to.equal('');
    });

    it("'' as a programmatic text says nothing, over an app setting", () => {
      const settings = resolveSettings(
        { ...REQUIRED, TiledeskTextFailed: 'From env' },
        { textFailed: '' },
      );
      expect(settings.textFailed).to.equal('');
    });

    it('unset texts keep their defaults, and texts keep their blanks inside', () => {
      const settings = resolveSettings({ ...REQUIRED, TiledeskTextAssigned: ' {agent} is here ' });
      expect(settings.textAssigned).to.equal(' {agent} is here ');
      expect(settings.textConnecting).to.equal('Connecting you to a human agent…');
    });

    it("keyword triggers are off with TiledeskHandoffKeywords=''", () => {
      const settings = resolveSettings({ ...REQUIRED, TiledeskHandoffKeywords: '' });
      expect(matchPhrase('human', settings.handoffKeywords)).to.equal(undefined);
      expect(matchPhrase('human', resolveSettings(REQUIRED).handoffKeywords)).to.equal('human');
    });
  });

  describe('unknown keys: one warning naming the closest valid key', () => {
    function warnings(app: AppSettings, overrides: Record<string, unknown> = {}) {
      const calls: { message: string; context?: Record<string, unknown> }[] = [];
      const warn = (message: string, context?: Record<string, unknown>) =>
        void calls.push({ message, ...(context ? { context } : {}) });
      try {
        resolveSettings(app, overrides as TiledeskSettingsInput, { warn });
      } catch (err) {
        if (!(err instanceof TiledeskConfigError)) throw err;
      }
      return calls;
    }

    it('lists misspelt, camelCase and wrongly cased app settings in ONE line', () => {
      const calls = warnings({
        ...REQUIRED,
        TiledeskHandoffKeyword: 'human',
        tiledeskProjectId: '65a1b2c3d4e5f6a7b8c9d0e1',
        TiledeskProjectID: '65a1b2c3d4e5f6a7b8c9d0e1',
        TILEDESK_WEBHOOK_URL: 'https://x.example/hook',
        botName: 'Acme',
      });
      expect(calls).to.have.length(1);
      expect(calls[0]!.message).to.equal(
        'Ignored unknown settings: ' +
          'appSettings.TiledeskHandoffKeyword (did you mean TiledeskHandoffKeywords?), ' +
          'appSettings.tiledeskProjectId (did you mean TiledeskProjectId?), ' +
          'appSettings.TiledeskProjectID (did you mean TiledeskProjectId?), ' +
          'appSettings.TILEDESK_WEBHOOK_URL (did you mean TiledeskWebhookUrl?), ' +
          'appSettings.botName (did you mean TiledeskBotName?)',
      );
      expect(calls[0]!.message).not.to.include('\n');
      expect(calls[0]!.context).to.deep.equal({
        keys: [
          {
            source: 'appSettings',
            key: 'TiledeskHandoffKeyword',
            suggestion: 'TiledeskHandoffKeywords',
          },
          { source: 'appSettings', key: 'tiledeskProjectId', suggestion: 'TiledeskProjectId' },
          { source: 'appSettings', key: 'TiledeskProjectID', suggestion: 'TiledeskProjectId' },
          { source: 'appSettings', key: 'TILEDESK_WEBHOOK_URL', suggestion: 'TiledeskWebhookUrl' },
          { source: 'appSettings', key: 'botName', suggestion: 'TiledeskBotName' },
        ],
      });
    });

    it('names the closest key by edit distance', () => {
      const cases: [string, string][] = [
        ['TiledeskBotNmae', 'TiledeskBotName'],
        ['TiledeskTimeout', 'TiledeskTimeoutMs'],
        ['TiledeskTextConnect', 'TiledeskTextConnecting'],
        ['TiledeskHandofMethod', 'TiledeskHandoffMethod'],
        ['TiledeskDepartment', 'TiledeskDepartmentId'],
        ['Tiledesk_Api_Url', 'TiledeskApiUrl'],
      ];
      for (const [key, suggestion] of cases) {
        expect(warnings({ ...REQUIRED, [key]: 'x' })[0]?.context, key).to.deep.equal({
          keys: [{ source: 'appSettings', key, suggestion }],
        });
      }
    });

    it('says nothing about the rest of the environment', () => {
      const calls = warnings({
        ...process.env,
        ...REQUIRED,
        PATH: '/usr/bin',
        PORT: '3978',
        MicrosoftAppPassword: 'pw',
        TILEDESK_TEST_LEASE_MS: '3000', // another tool's all-capitals name, not one of ours
        TiledeskTextConnecting: '',
        TiledeskNotASetting: undefined,
      });
      expect(calls).to.deep.equal([]);
    });

    it('reports unknown keys of the programmatic settings, in the same line', () => {
      const calls = warnings(
        { ...REQUIRED, TiledeskBotNme: 'x' },
        { handoffKeyword: 'human', TiledeskBotName: 'Acme', ProjectID: 'x', botName: 'ok' },
      );
      expect(calls).to.have.length(1);
      expect(calls[0]!.message).to.equal(
        'Ignored unknown settings: appSettings.TiledeskBotNme (did you mean TiledeskBotName?), ' +
          'settings.handoffKeyword (did you mean handoffKeywords?), ' +
          'settings.TiledeskBotName (did you mean botName?), ' +
          'settings.ProjectID (did you mean projectId?)',
      );
    });

    it('warns before the error a misspelt required key causes', () => {
      const { TiledeskProjectId: _, ...rest } = REQUIRED;
      const calls = warnings({ ...rest, TiledeskProjectID: '65a1b2c3d4e5f6a7b8c9d0e1' });
      expect(calls.map((c) => c.message)).to.deep.equal([
        'Ignored unknown settings: appSettings.TiledeskProjectID (did you mean TiledeskProjectId?)',
      ]);
      expect(() => resolveSettings({ ...rest, TiledeskProjectID: 'x' })).to.throw(
        TiledeskConfigError,
      );
    });

    it('never echoes a value, only names', () => {
      const SECRET = 'Pw-4c1d9a-do-not-log';
      const calls = warnings(
        { ...REQUIRED, TiledeskPasword: SECRET, tiledeskProjectSecret: SECRET },
        { pasword: SECRET },
      );
      expect(calls).to.have.length(1);
      expect(JSON.stringify(calls)).not.to.include(SECRET);
      expect(calls[0]!.message).to.include('TiledeskPasword (did you mean TiledeskPassword?)');
      expect(calls[0]!.message).to.include('settings.pasword (did you mean password?)');
    });

    it('the middleware passes its logger (one warn, nothing on error)', () => {
      const warned: string[] = [];
      const errors: string[] = [];
      new TiledeskHandoff({
        adapter: { continueConversationAsync: async () => undefined },
        appSettings: { ...REQUIRED, TiledeskHandoffKeyword: 'human' },
        logger: { warn: (m) => void warned.push(m), error: (m) => void errors.push(m) },
      });
      expect(warned).to.deep.equal([
        'Ignored unknown settings: appSettings.TiledeskHandoffKeyword (did you mean TiledeskHandoffKeywords?)',
      ]);
      expect(errors).to.deep.equal([]);
    });
  });

  describe('never echoes a credential', () => {
    const PASSWORD = 'Pw-7f3c9e1b-do-not-log';
    const SECRET = 'Sec-2b8d4a6f-do-not-log';

    function expectNoSecrets(error: TiledeskConfigError, secrets: string[]): void {
      const serialized = JSON.stringify(error);
      for (const secret of secrets) {
        expect(error.message).not.to.include(secret);
        expect(serialized).not.to.include(secret);
        expect(String(error.stack)).not.to.include(secret);
        expect(JSON.stringify(error.issues)).not.to.include(secret);
        expect(JSON.stringify(error.context)).not.to.include(secret);
      }
    }

    it('when other keys are invalid and the credentials are valid', () => {
      const error = configError({
        ...REQUIRED,
        TiledeskPassword: PASSWORD,
        TiledeskProjectSecret: SECRET,
        TiledeskProjectId: 'nope',
        TiledeskEmail: 'nope',
      });
      expect(error.issues.map((i) => i.key)).to.deep.equal(['TiledeskProjectId', 'TiledeskEmail']);
      expectNoSecrets(error, [PASSWORD, SECRET]);
    });

    it('when the credentials themselves are invalid (wrong type from untyped JS callers)', () => {
      // Untyped callers (plain JS, JSON config) can pass anything; the cast models that.
      const untyped = {
        password: 73_914_205,
        projectSecret: ['Sec-arr-91ab', 'Sec-arr-77cd'],
      } as unknown as TiledeskSettingsInput;
      const error = configError(REQUIRED, untyped);
      expect(error.issues.map((i) => i.key)).to.deep.equal([
        'TiledeskPassword',
        'TiledeskProjectSecret',
      ]);
      expectNoSecrets(error, ['73914205', 'Sec-arr-91ab', 'Sec-arr-77cd']);
    });

    it('when a credential is put under a validated key by mistake', () => {
      const error = configError({
        ...REQUIRED,
        TiledeskEmail: PASSWORD,
        TiledeskProjectId: SECRET,
      });
      expect(error.issues.map((i) => i.key)).to.deep.equal(['TiledeskProjectId', 'TiledeskEmail']);
      expectNoSecrets(error, [PASSWORD, SECRET]);
    });
  });
});
