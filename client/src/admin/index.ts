/** The admin area's entry: mounted by main.ts for `/admin`. */
import './admin.css';
import type { Request } from '../graphql/client';
import { AdminPage } from './admin-page';

export function mountAdmin(root: HTMLElement, request: Request): void {
  document.title = 'Citygrid · 系统管理';
  new AdminPage(root, request).render();
}
