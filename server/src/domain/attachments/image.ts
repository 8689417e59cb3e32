/**
 * Turns an uploaded file into the copy we keep: the type is taken from the content (magic bytes),
 * the whole image is decoded (so a truncated file is refused), orientation is applied to the
 * pixels, and the copy is re-encoded without any EXIF/XMP/IPTC — so no GPS position, camera
 * serial or owner name survives. Only the colour profile is kept.
 */
import { createHash } from 'node:crypto';
import { fileTypeFromFile } from 'file-type';
import sharp, { type OutputInfo } from 'sharp';
import { UploadRejected } from './errors';

/** The largest file accepted, in bytes (CONTRACT.md: ≤ 10 MB). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/**
 * The most pixels we decode. A 10 MB PNG of one colour can claim billions of pixels; 64 MP covers
 * a 48 MP phone camera and bounds the memory one decode takes (~200 MB as RGB).
 */
export const MAX_INPUT_PIXELS = 64_000_000;

/** Longest side of the thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 320;

const accepted = {
  'image/jpeg': { ext: 'jpg', format: 'jpeg' },
  'image/png': { ext: 'png', format: 'png' },
  'image/webp': { ext: 'webp', format: 'webp' },
} as const;

export type ImageMime = keyof typeof accepted;

export const extensionOf = (mime: ImageMime): string => accepted[mime].ext;

export function isImageMime(mime: string): mime is ImageMime {
  return Object.hasOwn(accepted, mime);
}

export interface SanitizedImage {
  mime: ImageMime;
  /** The re-encoded image, metadata stripped. */
  data: Buffer;
  /** Hex sha256 of `data`: the name it is stored under. */
  sha256: string;
  width: number;
  height: number;
  /** A WebP no larger than THUMBNAIL_SIZE on its longest side. */
  thumbnail: Buffer;
}

/**
 * Reads, checks and re-encodes the image at `path`. Throws `UploadRejected` for anything that is
 * not a complete JPEG, PNG or WebP within the limits.
 */
export async function sanitizeImage(path: string, sizeBytes: number): Promise<SanitizedImage> {
  if (sizeBytes > MAX_UPLOAD_BYTES) {
    throw new UploadRejected(
      'TOO_LARGE',
      `the file is ${sizeBytes} bytes; the limit is ${MAX_UPLOAD_BYTES}`,
      {
        limitBytes: MAX_UPLOAD_BYTES,
      },
    );
  }
  if (sizeBytes === 0) throw new UploadRejected('NOT_AN_IMAGE', 'the file is empty');
  const detected = await fileTypeFromFile(path);
  if (!detected) {
    throw new UploadRejected('NOT_AN_IMAGE', 'the file is not an image (its content matches no known type)');
  }
  if (!isImageMime(detected.mime)) {
    throw new UploadRejected(
      'UNSUPPORTED_TYPE',
      `the file's content is ${detected.mime}; accepted are image/jpeg, image/png and image/webp`,
      { detected: detected.mime },
    );
  }
  const mime = detected.mime;
  return withDecodeSlot(() => reencode(path, mime));
}

async function reencode(path: string, mime: ImageMime): Promise<SanitizedImage> {
  let output: { data: Buffer; info: OutputInfo };
  try {
    const header = await sharp(path).metadata();
    // Only the first frame of an animated WebP is decoded (animated: false below).
    const pixels = (header.width ?? 0) * (header.height ?? 0);
    if (pixels > MAX_INPUT_PIXELS) {
      throw new UploadRejected(
        'TOO_MANY_PIXELS',
        `the image is ${header.width}×${header.height}; at most ${MAX_INPUT_PIXELS} pixels are accepted`,
        { width: header.width, height: header.height },
      );
    }
    // failOn 'truncated': a JPEG that ends early is an error, while the harmless warnings many
    // phone cameras' files raise are not. Only the first frame of an animated WebP is kept.
    let pipeline = sharp(path, { failOn: 'truncated', limitInputPixels: MAX_INPUT_PIXELS, animated: false })
      .timeout({ seconds: 30 })
      // No argument: turn the pixels by the EXIF orientation, then drop the tag.
      .rotate()
      // sharp writes no EXIF/XMP/IPTC unless asked; keep only the colour profile.
      .keepIccProfile();
    // Fast encoder settings: mozjpeg's trellis search took ~20× as long on a 12 MP photo here
    // (seconds per upload on 2 cores) for a few per cent fewer bytes.
    pipeline =
      mime === 'image/jpeg'
        ? pipeline.jpeg({ quality: 88 })
        : mime === 'image/png'
          ? pipeline.png({ compressionLevel: 6 })
          : pipeline.webp({ quality: 88, effort: 2 });
    output = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (error) {
    if (error instanceof UploadRejected) throw error;
    throw new UploadRejected(
      'CORRUPT_IMAGE',
      `the ${accepted[mime].format} image does not decode: ${reason(error)}`,
    );
  }
  const thumbnail = await sharp(output.data)
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 70 })
    .toBuffer();
  return {
    mime,
    data: output.data,
    sha256: createHash('sha256').update(output.data).digest('hex'),
    width: output.info.width,
    height: output.info.height,
    thumbnail,
  };
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // libvips messages can run to several lines; the first says what went wrong.
  return message.split('\n')[0]!.slice(0, 200);
}

/*
 * Decoding is CPU- and memory-heavy; two at a time keep a burst of uploads from starving the
 * rest of the server (libvips already uses several threads per image).
 */
const MAX_CONCURRENT_DECODES = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function withDecodeSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_DECODES) await new Promise<void>((resolve) => waiting.push(resolve));
  else running += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}
