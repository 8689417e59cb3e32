/**
 * Evidence photos as records: keeping an upload, attaching uploads to a case event, and finding
 * one for a viewer under the case's region scope.
 */
import { type Executor, rows } from '@citygrid/db';
import { attachments, cases } from '@citygrid/db/schema';
import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Actor } from '../auth/actor';
import { caseVisibility } from '../cases/queries';
import { BadUserInput } from '../errors';
import { type ImageMime, isImageMime, sanitizeImage } from './image';
import type { AttachmentStore } from './store';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** At most this many photos per event (a report, a resolution, a verification). */
export const MAX_ATTACHMENTS_PER_EVENT = 12;

export interface SavedAttachment {
  id: string;
  sha256: string;
  mime: ImageMime;
  bytes: number;
  width: number;
  height: number;
}

/**
 * Checks and keeps the upload spooled at `tempFile` (which the caller removes afterwards) and
 * records it as an unattached attachment of `uploader`. Throws `UploadRejected` for a file that
 * is not an acceptable image; then nothing is kept.
 */
export async function saveUpload(
  db: Executor,
  store: AttachmentStore,
  input: { tempFile: string; sizeBytes: number; uploader: Actor },
  logger?: Logger,
): Promise<SavedAttachment> {
  const image = await sanitizeImage(input.tempFile, input.sizeBytes);
  let created: string[] = [];
  try {
    const row = await db.transaction(async (tx) => {
      // Files and rows of one content change under its lock, so a prune can never remove a
      // file that an upload of the same content has just found in place and is recording.
      await lockContent(tx, image.sha256);
      created = await store.put(image.sha256, image.mime, image.data, image.thumbnail);
      const [inserted] = await tx
        .insert(attachments)
        .values({
          sha256: image.sha256,
          mime: image.mime,
          bytes: image.data.length,
          width: image.width,
          height: image.height,
          uploaderId: input.uploader.id,
        })
        .returning({ id: attachments.id });
      return inserted!;
    });
    return {
      id: row.id,
      sha256: image.sha256,
      mime: image.mime,
      bytes: image.data.length,
      width: image.width,
      height: image.height,
    };
  } catch (error) {
    logger?.error({ err: error, sha256: image.sha256 }, 'attachment row not written');
    // Leave no file without a row — unless another upload of the same content holds it by now.
    if (created.length > 0) {
      await removeIfUnreferenced(db, store, image.sha256, image.mime).catch((err) =>
        logger?.error({ err, sha256: image.sha256 }, 'could not remove an unrecorded upload'),
      );
    }
    throw error;
  }
}

/** Advisory-lock key space for stored content (the second key is the content's hash). */
const CONTENT_LOCK = 7_245_101;

async function lockContent(tx: Executor, sha256: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${CONTENT_LOCK}, hashtext(${sha256}))`);
}

/** Removes a content's files when no attachment row refers to it any more. True if removed. */
async function removeIfUnreferenced(
  db: Executor,
  store: AttachmentStore,
  sha256: string,
  mime: ImageMime,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockContent(tx, sha256);
    const [held] = await rows<{ n: number }>(
      tx,
      sql`SELECT count(*)::int AS n FROM attachments WHERE sha256 = ${sha256}`,
    );
    if ((held?.n ?? 0) > 0) return false;
    await store.remove([store.pathOf(sha256, mime), store.thumbnailPathOf(sha256)]);
    return true;
  });
}

/** How long an upload may wait to be attached to a case before it is pruned. */
export const UNATTACHED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Deletes uploads never attached to a case that were made before `olderThan` (an abandoned
 * report's photos), and their files once no other upload shares the content. An upload being
 * attached at the same moment is either attached or pruned, never both: the DELETE re-checks
 * `case_id IS NULL` after waiting on the row lock that attachToCase holds.
 */
export async function pruneUnattached(
  db: Executor,
  store: AttachmentStore,
  olderThan: Date,
): Promise<{ attachments: number; contents: number }> {
  // attachments_case_idx leads with case_id, so the IS NULL rows are found without a scan.
  const removed = await db
    .delete(attachments)
    .where(and(isNull(attachments.caseId), lt(attachments.createdAt, olderThan)))
    .returning({ sha256: attachments.sha256, mime: attachments.mime });
  const contents = new Map(removed.map((r) => [r.sha256, r.mime]));
  let removedContents = 0;
  for (const [sha256, mime] of contents) {
    if (isImageMime(mime) && (await removeIfUnreferenced(db, store, sha256, mime))) removedContents += 1;
  }
  return { attachments: removed.length, contents: removedContents };
}

/**
 * Attaches the actor's own unattached uploads to a case event, inside the caller's transaction
 * (so a refused report attaches nothing). Every id must exist, be unattached and have been
 * uploaded by the actor; otherwise BAD_USER_INPUT names the ids that are not.
 */
export async function attachToCase(
  tx: Executor,
  input: { attachmentIds: readonly string[]; caseId: number; eventSeq: number; actor: Pick<Actor, 'id'> },
): Promise<void> {
  const ids = [...new Set(input.attachmentIds.map((id) => id.toLowerCase()))];
  if (ids.length === 0) return;
  if (ids.length > MAX_ATTACHMENTS_PER_EVENT) {
    throw new BadUserInput(`at most ${MAX_ATTACHMENTS_PER_EVENT} attachments per step; got ${ids.length}`, {
      field: 'attachmentIds',
    });
  }
  const malformed = ids.filter((id) => !UUID.test(id));
  if (malformed.length > 0) {
    throw new BadUserInput(`not attachment ids: ${malformed.join(', ')}`, {
      field: 'attachmentIds',
      ids: malformed,
    });
  }
  // The row lock taken by UPDATE makes a concurrent attach of the same upload wait, then see
  // case_id set and match nothing — so an upload ends up on one case only.
  const attached = await tx
    .update(attachments)
    .set({ caseId: input.caseId, eventSeq: input.eventSeq })
    .where(
      and(
        inArray(attachments.id, ids),
        isNull(attachments.caseId),
        eq(attachments.uploaderId, input.actor.id),
      ),
    )
    .returning({ id: attachments.id });
  if (attached.length !== ids.length) {
    const done = new Set(attached.map((a) => a.id));
    const refused = ids.filter((id) => !done.has(id));
    throw new BadUserInput(
      `attachments not found, already attached, or not uploaded by you: ${refused.join(', ')}`,
      { field: 'attachmentIds', ids: refused },
    );
  }
}

export interface AttachmentFile {
  id: string;
  sha256: string;
  mime: ImageMime;
  bytes: number;
  width: number | null;
  height: number | null;
  caseId: number | null;
}

/**
 * The attachment, if `viewer` may see it: the case it is attached to lies in the viewer's region
 * scope, or — while it is attached to nothing — the viewer uploaded it. Anything else is
 * `undefined`, exactly as if it did not exist.
 */
export async function findAttachmentForViewer(
  db: Executor,
  id: string,
  viewer: Actor,
): Promise<AttachmentFile | undefined> {
  if (!UUID.test(id)) return undefined;
  const visibility = await caseVisibility(db, viewer);
  const [row] = await db
    .select({
      id: attachments.id,
      sha256: attachments.sha256,
      mime: attachments.mime,
      bytes: attachments.bytes,
      width: attachments.width,
      height: attachments.height,
      caseId: attachments.caseId,
      uploaderId: attachments.uploaderId,
      visibleCase: cases.id,
    })
    .from(attachments)
    // Who sees the case sees its photos: the cases' visibility rule, applied in the join, so a
    // case the viewer may not see (out of scope, or not dispatched to their department) joins nothing.
    .leftJoin(cases, and(eq(cases.id, attachments.caseId), visibility))
    .where(eq(attachments.id, id))
    .limit(1);
  if (!row || !isImageMime(row.mime)) return undefined;
  const visible = row.caseId === null ? row.uploaderId === viewer.id : row.visibleCase !== null;
  if (!visible) return undefined;
  return {
    id: row.id,
    sha256: row.sha256,
    mime: row.mime,
    bytes: row.bytes,
    width: row.width,
    height: row.height,
    caseId: row.caseId,
  };
}

export interface CaseAttachment {
  id: string;
  mime: string;
  bytes: number;
  width: number | null;
  height: number | null;
  /** The event that attached it: the report (1), a resolution or a verification. */
  eventSeq: number | null;
  createdAt: Date;
}

/** A case's attachments in the order they were attached, for `Case.attachments`. */
export async function listCaseAttachments(db: Executor, caseId: number): Promise<CaseAttachment[]> {
  return db
    .select({
      id: attachments.id,
      mime: attachments.mime,
      bytes: attachments.bytes,
      width: attachments.width,
      height: attachments.height,
      eventSeq: attachments.eventSeq,
      createdAt: attachments.createdAt,
    })
    .from(attachments)
    .where(eq(attachments.caseId, caseId))
    .orderBy(attachments.eventSeq, attachments.createdAt, attachments.id);
}
