/**
 * Evidence photos over HTTP: `POST /uploads` (multipart, one image) and
 * `GET /attachments/:id[/thumbnail]`. A thin transport over domain/attachments: it authenticates,
 * spools the one file part to DATA_DIR/tmp within the size limit, and maps domain refusals to a
 * status and `{ error: { code, message } }`. A refused upload leaves no file and no row.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '@citygrid/db';
import busboy from 'busboy';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import {
  AttachmentStore,
  extensionOf,
  findAttachmentForViewer,
  MAX_UPLOAD_BYTES,
  pruneUnattached,
  type SavedAttachment,
  saveUpload,
  UNATTACHED_RETENTION_MS,
  UploadRejected,
  type UploadRejection,
} from '../domain/attachments';
import type { TokenIssuer } from '../domain/auth/tokens';
import { DomainError, httpStatusOf, Unauthenticated } from '../domain/errors';
import { requireActor } from './request-helpers';

export interface UploadsOptions {
  db: Db;
  tokens: TokenIssuer;
  /** Files go under `<dataDir>/uploads`, spooled through `<dataDir>/tmp`. */
  dataDir: string;
  logger: Logger;
}

/** Room for the multipart framing around a file of the largest size. */
const FRAMING_ALLOWANCE = 1024 * 1024;
/** Past this many body bytes a refused request is cut off instead of read to its end. */
const DRAIN_LIMIT = 2 * MAX_UPLOAD_BYTES;

const statusOf: Record<UploadRejection, number> = {
  NO_FILE: 400,
  TOO_MANY_FILES: 400,
  NOT_MULTIPART: 415,
  MALFORMED_UPLOAD: 400,
  TOO_LARGE: 413,
  NOT_AN_IMAGE: 400,
  UNSUPPORTED_TYPE: 415,
  CORRUPT_IMAGE: 400,
  TOO_MANY_PIXELS: 413,
};

/** The router; mount it at the root (`app.use(uploadsRouter(…))`). */
export function uploadsRouter(options: UploadsOptions): Router {
  const log = options.logger.child({ module: 'uploads' });
  const store = new AttachmentStore(options.dataDir);
  store.sweepSpool().catch((err) => log.warn({ err }, 'could not sweep the upload spool'));
  // Once per start: photos of reports that were never sent. Every instance may do it; the
  // deletes and the per-content locks make a second run find nothing.
  pruneUnattached(options.db, store, new Date(Date.now() - UNATTACHED_RETENTION_MS))
    .then((pruned) => pruned.attachments > 0 && log.info(pruned, 'pruned unattached uploads'))
    .catch((err) => log.warn({ err }, 'could not prune unattached uploads'));
  const router = express.Router();

  router.post('/uploads', async (req, res) => {
    let spooled: SpooledFile | undefined;
    let outcome: { saved: SavedAttachment } | { error: unknown };
    try {
      const actor = await requireActor(req, options.tokens);
      const declared = Number(req.headers['content-length'] ?? Number.NaN);
      if (declared > MAX_UPLOAD_BYTES + FRAMING_ALLOWANCE) {
        throw new UploadRejected(
          'TOO_LARGE',
          `the request is ${declared} bytes; the limit is ${MAX_UPLOAD_BYTES}`,
          {
            limitBytes: MAX_UPLOAD_BYTES,
          },
        );
      }
      spooled = await receiveOneFile(req, store);
      const saved = await saveUpload(
        options.db,
        store,
        { tempFile: spooled.path, sizeBytes: spooled.size, uploader: actor },
        log,
      );
      log.info(
        { id: saved.id, sha256: saved.sha256, bytes: saved.bytes, uploader: actor.id },
        'upload stored',
      );
      outcome = { saved };
    } catch (error) {
      outcome = { error };
    }
    // The spool file goes before the answer, so a client never sees it linger.
    if (spooled) await rm(spooled.path, { force: true });
    if ('saved' in outcome) {
      const { saved } = outcome;
      res.status(201).json({ id: saved.id, mime: saved.mime, width: saved.width, height: saved.height });
    } else {
      refuse(req, res, outcome.error, log);
    }
  });

  const serve = (variant: 'original' | 'thumbnail') => async (req: Request, res: Response) => {
    try {
      const actor = await requireActor(req, options.tokens);
      const id = String(req.params.id ?? '');
      const found = await findAttachmentForViewer(options.db, id, actor);
      if (!found) {
        sendError(res, 404, 'NOT_FOUND', `no attachment ${id}`);
        return;
      }
      const path =
        variant === 'original' ? store.pathOf(found.sha256, found.mime) : store.thumbnailPathOf(found.sha256);
      const etag = `"${found.sha256}${variant === 'thumbnail' ? '-t' : ''}"`;
      res.set({
        'Content-Type': variant === 'original' ? found.mime : 'image/webp',
        ETag: etag,
        // Private and revalidated each time: who may see it can change, and a shared field
        // device must not hand one user's cached photo to the next. The ETag makes that cheap.
        'Cache-Control': 'private, no-cache',
        Vary: 'Authorization',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; sandbox",
        'Content-Disposition': `inline; filename="${found.id}.${variant === 'original' ? extensionOf(found.mime) : 'webp'}"`,
      });
      if (req.headers['if-none-match'] === etag) {
        res.status(304).end();
        return;
      }
      const stream = createReadStream(path);
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
      await pipeline(stream, res);
    } catch (error) {
      if (res.headersSent) {
        log.error({ err: error }, 'attachment stream failed');
        res.destroy();
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        log.error({ id: req.params.id }, 'attachment row without its file');
        for (const header of ['ETag', 'Content-Disposition', 'Content-Security-Policy'])
          res.removeHeader(header);
        sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'the file is missing from the store');
        return;
      }
      refuse(req, res, error, log);
    }
  };
  router.get('/attachments/:id', serve('original'));
  router.get('/attachments/:id/thumbnail', serve('thumbnail'));
  return router;
}

interface SpooledFile {
  path: string;
  size: number;
}

/**
 * Streams the request's one file part to a fresh spool file, holding at most a chunk in memory.
 * Resolves only when the whole body has been read and the file is closed; on any refusal the
 * spool file is already gone.
 */
function receiveOneFile(req: IncomingMessage, store: AttachmentStore): Promise<SpooledFile> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    return Promise.reject(
      new UploadRejected(
        'NOT_MULTIPART',
        `expected a multipart/form-data body; got ${type || 'no Content-Type'}`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: {
          files: 1,
          fileSize: MAX_UPLOAD_BYTES,
          fields: 16,
          fieldSize: 4096,
          parts: 24,
          headerPairs: 32,
        },
      });
    } catch (error) {
      reject(
        new UploadRejected('MALFORMED_UPLOAD', `cannot read the multipart body: ${(error as Error).message}`),
      );
      return;
    }
    let problem: UploadRejected | undefined;
    let file: { path: string; size: number; written: Promise<void>; source: Readable } | undefined;
    let finished = false;
    let received = 0;

    const fail = (rejection: UploadRejected) => {
      problem ??= rejection;
    };
    const finish = async (error?: UploadRejected) => {
      if (finished) return;
      finished = true;
      req.off('data', countBytes);
      // Cut off mid-file (client gone, body too long, framing broken): the part will never end
      // by itself, so end it here or the spool write would wait forever.
      if (error && file) file.source.destroy();
      const written = await file?.written.then(
        () => undefined,
        (e: unknown) => e,
      );
      const rejection = error ?? problem;
      if (rejection || written || !file) {
        if (file) await rm(file.path, { force: true });
        if (rejection) reject(rejection);
        else if (written) reject(written);
        else
          reject(
            new UploadRejected('NO_FILE', 'the request has no file part; send the photo as one file field'),
          );
        return;
      }
      if (file.size === 0) {
        await rm(file.path, { force: true });
        reject(new UploadRejected('NO_FILE', 'the file part is empty'));
        return;
      }
      resolve({ path: file.path, size: file.size });
    };
    // A chunked body has no Content-Length to check up front: stop reading one that runs far
    // past the limit instead of draining it to its end.
    const countBytes = (chunk: Buffer) => {
      received += chunk.length;
      if (received > DRAIN_LIMIT) {
        req.unpipe(parser);
        finish(
          new UploadRejected('TOO_LARGE', `the request exceeds ${DRAIN_LIMIT} bytes`, {
            limitBytes: MAX_UPLOAD_BYTES,
          }),
        );
      }
    };
    req.on('data', countBytes);

    parser.on('file', (_field, stream, _info) => {
      // The client's filename and declared type are ignored: the type comes from the content,
      // the name from the content's hash.
      const path = store.tempPath();
      const current = { path, size: 0, written: Promise.resolve(), source: stream };
      stream.on('data', (chunk: Buffer) => {
        current.size += chunk.length;
      });
      stream.on('limit', () =>
        fail(
          new UploadRejected('TOO_LARGE', `the file exceeds ${MAX_UPLOAD_BYTES} bytes`, {
            limitBytes: MAX_UPLOAD_BYTES,
          }),
        ),
      );
      current.written = pipeline(stream, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
      // Observed in finish(); keep an early failure from surfacing as an unhandled rejection.
      current.written.catch(() => {});
      file = current;
    });
    parser.on('filesLimit', () =>
      fail(new UploadRejected('TOO_MANY_FILES', 'send exactly one file per upload; the request has more')),
    );
    parser.on('partsLimit', () =>
      fail(new UploadRejected('MALFORMED_UPLOAD', 'too many parts in the multipart body')),
    );
    parser.on('fieldsLimit', () =>
      fail(new UploadRejected('MALFORMED_UPLOAD', 'too many fields in the multipart body')),
    );
    parser.on('error', (error: Error) => {
      req.unpipe(parser);
      finish(new UploadRejected('MALFORMED_UPLOAD', `cannot read the multipart body: ${error.message}`));
    });
    parser.on('close', () => finish());
    req.on('aborted', () => finish(new UploadRejected('MALFORMED_UPLOAD', 'the client aborted the upload')));
    req.pipe(parser);
  });
}

function refuse(req: Request, res: Response, error: unknown, log: Logger) {
  let status: number;
  let code: string;
  let message: string;
  if (error instanceof UploadRejected) {
    status = statusOf[error.reason];
    code = error.reason;
    message = error.message;
  } else if (error instanceof Unauthenticated) {
    status = 401;
    code = 'UNAUTHENTICATED';
    message = error.message;
  } else if (error instanceof DomainError) {
    status = httpStatusOf[error.code];
    code = error.code;
    message = error.message;
  } else {
    log.error({ err: error }, 'upload failed');
    status = 500;
    code = 'INTERNAL_SERVER_ERROR';
    message = 'unexpected error';
  }
  if (status < 500) log.debug({ code, message }, 'request refused');
  if (!req.complete) {
    // Answer now, but keep the connection usable by reading the rest of the body — unless the
    // body is larger than is worth reading, then close the connection after the answer.
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > DRAIN_LIMIT || !Number.isFinite(declared)) res.set('Connection', 'close');
    else req.resume();
  }
  sendError(res, status, code, message);
}

function sendError(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}
