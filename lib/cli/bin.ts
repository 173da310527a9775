#!/usr/bin/env node
import { runDoctor } from './doctor';

/** `npx botbuilder-tiledesk doctor [--fix] [--env-file <path>]` */

const USAGE = `Usage: botbuilder-tiledesk doctor [--fix] [--env-file <path>]

Checks the bot's Tiledesk settings (environment, then ./.env) against Tiledesk:
settings, API, sign-in, project, admin role, department (no Tiledesk bot),
webhook subscriptions and the webhook URL. Exit code 0 when all pass, 1 otherwise.

  --fix              create the missing webhook subscriptions
  --env-file <path>  read this file instead of ./.env`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'doctor') {
    console.error(`Unknown command: ${command}\n\n${USAGE}`);
    return 2;
  }
  let fix = false;
  let envFile: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--fix') fix = true;
    else if (arg === '--env-file' && rest[i + 1] !== undefined) envFile = rest[++i];
    else if (arg.startsWith('--env-file=')) envFile = arg.slice('--env-file='.length);
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`Unknown option: ${arg}\n\n${USAGE}`);
      return 2;
    }
  }
  return runDoctor({ fix, ...(envFile !== undefined ? { envFile } : {}) });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(
        `botbuilder-tiledesk doctor failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      process.exitCode = 1;
    },
  );
}
