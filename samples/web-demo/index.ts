import { startWebDemo } from './server';

/**
 * `npm run demo -- --web`: starts everything on 127.0.0.1, prints the page's URL and waits for
 * Ctrl-C (SIGINT) or SIGTERM. It opens no browser by itself. `PORT` picks the port (default 3980).
 */
export async function runWebDemo(): Promise<void> {
  const port = Number(process.env['PORT'] ?? 3980);
  const demo = await startWebDemo({ port: Number.isInteger(port) ? port : 3980 });
  console.log(`Web demo: open ${demo.url}`);
  console.log(
    '  left: the customer in Bot Framework Web Chat, right: a Tiledesk agent (local stand-in).',
  );
  console.log('  Say "talk to a human" on the left, answer on the right. Ctrl-C stops it.');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    demo.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}
