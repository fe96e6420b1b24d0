/**
 * A tiny stand-in for a real site, used by `npm start` when `.dev.vars` names no ORIGIN_URL:
 * a home page, a login form and an echo of whatever else is asked, so it is easy to see which
 * requests ipgate passed.
 */
import { createServer, type Server } from 'node:http';
import { escapeHtml } from '../src/util/html';

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style>
</head><body><h1>${title}</h1>${body}<hr><small>demo origin behind ipgate</small></body></html>`;

export function startDemoOrigin(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('x-demo-origin', '1');
    if (url.pathname === '/') {
      res.end(page('Demo site', '<p>Welcome. Try <a href="/login">/login</a>.</p>'));
    } else if (url.pathname === '/login' && req.method === 'POST') {
      req.resume();
      req.on('end', () => res.end(page('Signed in', '<p>The origin received the login.</p>')));
    } else if (url.pathname === '/login') {
      res.end(
        page(
          'Sign in',
          '<form method="post"><label>User <input name="u"></label> <label>Password <input name="p" type="password"></label> <button>Sign in</button></form>',
        ),
      );
    } else {
      res.end(
        page(
          'Demo origin',
          `<p>The origin received <code>${escapeHtml(`${req.method} ${req.url}`)}</code>.</p>`,
        ),
      );
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
