/** Evidence photos: checked, stripped of location, stored by content, attached to case events. */
export {
  type AttachmentFile,
  attachToCase,
  type CaseAttachment,
  findAttachmentForViewer,
  listCaseAttachments,
  MAX_ATTACHMENTS_PER_EVENT,
  pruneUnattached,
  type SavedAttachment,
  saveUpload,
  UNATTACHED_RETENTION_MS,
} from './attachments';
export { UploadRejected, type UploadRejection } from './errors';
export { extensionOf, type ImageMime, MAX_INPUT_PIXELS, MAX_UPLOAD_BYTES, THUMBNAIL_SIZE } from './image';
export { AttachmentStore } from './store';
