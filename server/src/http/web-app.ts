/**
 * Serves the built web app (`client/dist`) at `/`, with the single-page-app fallback: a GET for
 * a path that is not an API route or a file gets `index.html`, so client-side routes survive a
 * reload.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Router } from 'express';

/** Paths owned by the server, never answered with the app's index.html. */
const API_PREFIXES = [
  '/graphql',
  '/healthz',
  '/readyz',
  '/metrics',
  '/tiles/',
  '/uploads',
  '/export/',
  '/open311/',
];

export function webAppRouter(distDir: string): Router | undefined {
  const index = join(distDir, 'index.html');
  if (!existsSync(index)) return undefined;
  const router = express.Router();
  router.use(express.static(distDir, { index: 'index.html', maxAge: '1h', fallthrough: true }));
  router.get(/.*/, (req, res, next) => {
    if (API_PREFIXES.some((p) => req.path === p.replace(/\/$/, '') || req.path.startsWith(p))) return next();
    // Asset requests (a dot in the last segment) that missed are real 404s, not app routes.
    if (/\.[a-z0-9]+$/i.test(req.path)) return next();
    if (!req.accepts('html')) return next();
    res.sendFile(index, { headers: { 'Cache-Control': 'no-cache' } });
  });
  return router;
}
