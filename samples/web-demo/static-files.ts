import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Route } from './http-util';

/**
 * The page and what it loads: our own files from ./static, and stock Web Chat's browser bundle,
 * served by file path from node_modules (`dist/webchat.js` is not in the package's exports).
 */
const WEBCHAT_BUNDLE = path.join(
  path.dirname(path.dirname(require.resolve('botframework-webchat'))),
  'dist',
  'webchat.js',
);

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(__dirname, 'static', 'index.html'), type: 'text/html' },
  '/console.js': { file: path.join(__dirname, 'static', 'console.js'), type: 'text/javascript' },
  '/chat.js': { file: path.join(__dirname, 'static', 'chat.js'), type: 'text/javascript' },
  '/demo.css': { file: path.join(__dirname, 'static', 'demo.css'), type: 'text/css' },
  '/parcel.svg': { file: path.join(__dirname, 'static', 'parcel.svg'), type: 'image/svg+xml' },
  '/webchat.js': { file: WEBCHAT_BUNDLE, type: 'text/javascript' },
};

export const staticRoute: Route = async (req, res, urlPath) => {
  const entry = FILES[urlPath];
  if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const body = await readFile(entry.file);
  res.writeHead(200, {
    'content-type': `${entry.type}; charset=utf-8`,
    'content-length': body.length,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
};
