/**
 * The field app (`client/dist/field/`) at `/field`: its own single-page fallback (any app route
 * under /field gets the field app's index.html, not the command center's) and no HTTP caching for
 * the entry page, the service worker and the web manifest, so an installed app picks up a new
 * release on its next start. Hashed assets under /assets keep the web app's long caching.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Router } from 'express';

/** Files the browser must revalidate on every fetch. */
const NO_CACHE = new Set(['/field/', '/field/index.html', '/field/sw.js', '/field/manifest.webmanifest']);

export function fieldAppRouter(distDir: string): Router | undefined {
  const fieldDir = join(distDir, 'field');
  const index = join(fieldDir, 'index.html');
  if (!existsSync(index)) return undefined;
  const router = express.Router();
  // Routing is not strict, so '/field/' reaches this handler too; only the bare path redirects.
  router.get('/field', (req, res, next) => (req.path === '/field' ? res.redirect(301, '/field/') : next()));
  router.use('/field', (req, res, next) => {
    if (NO_CACHE.has(`/field${req.path}`)) res.setHeader('Cache-Control', 'no-cache');
    if (req.path === '/manifest.webmanifest') res.type('application/manifest+json');
    next();
  });
  router.use('/field', express.static(fieldDir, { index: 'index.html', maxAge: 0, etag: true }));
  router.get(/^\/field\/.*/, (req, res, next) => {
    if (/\.[a-z0-9]+$/i.test(req.path) || !req.accepts('html')) return next();
    res.sendFile(index, { headers: { 'Cache-Control': 'no-cache' } });
  });
  return router;
}
