/**
 * The content-addressed file store under DATA_DIR: `uploads/ab/cd/<sha256>.<ext>` and its
 * thumbnail `uploads/ab/cd/<sha256>.thumb.webp`. Paths are built only from the hash and our own
 * extension, never from anything the client sent, so no name can lead outside the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { link, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extensionOf, type ImageMime } from './image';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class AttachmentStore {
  /** Where uploads are spooled while they arrive and are checked. */
  readonly tmpDir: string;
  /** The root of the kept files. */
  readonly uploadsDir: string;

  constructor(dataDir: string) {
    this.tmpDir = join(dataDir, 'tmp');
    this.uploadsDir = join(dataDir, 'uploads');
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.uploadsDir, { recursive: true });
  }

  /** A fresh, unused path in the spool directory. */
  tempPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(12).toString('hex')}.part`);
  }

  pathOf(sha256: string, mime: ImageMime): string {
    return join(this.dirOf(sha256), `${sha256}.${extensionOf(mime)}`);
  }

  thumbnailPathOf(sha256: string): string {
    return join(this.dirOf(sha256), `${sha256}.thumb.webp`);
  }

  /**
   * Keeps an image and its thumbnail. Each file is written to the spool and then hard-linked
   * into place, so a reader never sees half a file and two uploads of the same content agree.
   * Returns which of the two files this call created (for cleanup if the row cannot be written).
   */
  async put(sha256: string, mime: ImageMime, data: Buffer, thumbnail: Buffer): Promise<string[]> {
    await mkdir(this.dirOf(sha256), { recursive: true });
    const created: string[] = [];
    for (const [target, bytes] of [
      [this.pathOf(sha256, mime), data],
      [this.thumbnailPathOf(sha256), thumbnail],
    ] as const) {
      if (await this.placeAtomically(target, bytes)) created.push(target);
    }
    return created;
  }

  /**
   * Removes spooled files older than `olderThanMs` — left behind only by a crash mid-upload.
   * Younger ones may belong to an upload in flight (possibly of another process on this DATA_DIR).
   */
  async sweepSpool(olderThanMs = 60 * 60 * 1000): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.tmpDir)) {
      if (!name.endsWith('.part')) continue;
      const path = join(this.tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > olderThanMs) {
        await rm(path, { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  async remove(paths: string[]): Promise<void> {
    await Promise.all(paths.map((p) => rm(p, { force: true })));
  }

  private dirOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 hex digest: ${JSON.stringify(sha256)}`);
    return join(this.uploadsDir, sha256.slice(0, 2), sha256.slice(2, 4));
  }

  /** True when the file is new; false when identical content was already there. */
  private async placeAtomically(target: string, bytes: Buffer): Promise<boolean> {
    if (await exists(target)) return false;
    const spool = this.tempPath();
    await writeFile(spool, bytes, { flag: 'wx', mode: 0o640 });
    try {
      // link() fails with EEXIST instead of replacing: a concurrent upload of the same content
      // has already put the very same bytes there.
      await link(spool, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(spool, { force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
