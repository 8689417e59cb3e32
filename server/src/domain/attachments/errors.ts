/** Why an upload was refused. The HTTP layer turns the reason into a status; nothing is stored. */
import { BadUserInput } from '../errors';

export type UploadRejection =
  /** The request carried no file part. */
  | 'NO_FILE'
  /** More than one file part. */
  | 'TOO_MANY_FILES'
  /** The request body is not multipart/form-data. */
  | 'NOT_MULTIPART'
  /** The multipart framing is broken, cut off, or has far too many parts. */
  | 'MALFORMED_UPLOAD'
  /** Larger than the limit. */
  | 'TOO_LARGE'
  /** The content is no file type we recognise at all. */
  | 'NOT_AN_IMAGE'
  /** A recognised type (a PDF, a GIF, HEIC…) that we do not accept. */
  | 'UNSUPPORTED_TYPE'
  /** Claims to be a JPEG/PNG/WebP by its magic bytes but does not decode (truncated, corrupt). */
  | 'CORRUPT_IMAGE'
  /** Decodes to more pixels than we are willing to hold in memory. */
  | 'TOO_MANY_PIXELS';

export class UploadRejected extends BadUserInput {
  constructor(
    readonly reason: UploadRejection,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(message, { reason, ...details });
  }
}
