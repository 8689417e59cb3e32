/** What every field view shares: the API, the signed-in worker, their cached lists and the outbox. */
import type { Request } from '../graphql/client';
import type { Category, Cell, FieldUser, MyWork } from './api';
import type { Outbox } from './outbox';

export interface FieldContext {
  request: Request;
  token: () => string | null;
  user: FieldUser;
  outbox: Outbox;
  cells: Cell[];
  categories: Category[];
  work: MyWork | null;
  /** Re-reads the work lists and re-renders what shows them. */
  refreshWork(): Promise<void>;
  toast(message: string): void;
}
