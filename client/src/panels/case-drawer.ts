/**
 * The case drawer: the case, its timeline of events, photos, possible duplicates, and the actions
 * the signed-in role may take in its status — file or reject a report, dispatch a filed case to a
 * suggested worker or department. Stale versions (CONFLICT) reload the case.
 */
import { h } from '../dom';
import { GraphQLRequestError, type Request } from '../graphql/client';
import {
  type CaseDetail,
  caseDetail,
  dispatchCase,
  dispatchSuggestions,
  fileCase,
  type Role,
  rejectCase,
  type Suggestion,
} from '../graphql/operations';
import { formatDateTime, formatShortDateTime, localName, t } from '../i18n';
import { STATUS_COLORS } from '../map/palette';
import { formatMinutes } from './queue';

export interface CaseDrawerOptions {
  request: Request;
  role: Role;
  token: () => string | null;
  onClose: () => void;
  /** After an action succeeded (the live feed will also tell everyone else). */
  onChanged: (c: CaseDetail) => void;
  onFocus: (c: CaseDetail) => void;
}

const COMMANDING: readonly Role[] = ['COMMANDER', 'ADMIN'];

export class CaseDrawer {
  readonly element = h('aside', {
    class: 'drawer',
    role: 'dialog',
    'aria-modal': 'false',
    'data-testid': 'case-drawer',
    hidden: true,
  });
  private current: CaseDetail | null = null;
  private loadToken = 0;

  constructor(private readonly options: CaseDrawerOptions) {}

  get caseId(): string | null {
    return this.element.hidden ? null : (this.current?.id ?? null);
  }

  async open(id: string): Promise<void> {
    const token = ++this.loadToken;
    this.element.hidden = false;
    this.element.dataset.caseId = id;
    this.element.replaceChildren(this.header(id, null), h('div', { class: 'spinner' }));
    try {
      const detail = await caseDetail(this.options.request, id);
      if (token !== this.loadToken) return;
      this.current = detail;
      this.render();
      this.options.onFocus(detail);
    } catch (error) {
      if (token !== this.loadToken) return;
      this.element.replaceChildren(
        this.header(id, null),
        h('p', { class: 'login__error' }, (error as Error).message),
      );
    }
  }

  /** Reloads the open case if it is `id` (a live event said it changed). */
  async refreshIf(id: string): Promise<void> {
    if (this.caseId === id) await this.open(id);
  }

  close(): void {
    this.loadToken++;
    this.element.hidden = true;
    this.current = null;
    delete this.element.dataset.caseId;
    this.options.onClose();
  }

  private header(id: string, c: CaseDetail | null): HTMLElement {
    return h(
      'header',
      { class: 'drawer__head' },
      h('span', { class: 'cg-popup__kind' }, t('popup.case')),
      h('strong', { class: 'drawer__title', 'data-testid': 'drawer-code' }, c?.code ?? `#${id}`),
      c ? badge(c) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn--ghost drawer__close',
          'aria-label': t('drawer.close'),
          onclick: () => this.close(),
        },
        '✕',
      ),
    );
  }

  private render(): void {
    const c = this.current;
    if (!c) return;
    const facts: [string, string][] = [
      [t('popup.category'), `${c.category.code} ${localName(c.category)}`],
      [t('popup.priority'), t(`priority.${c.priority}`)],
      [t('drawer.description'), c.description],
      [t('drawer.address'), c.address ?? '—'],
      [t('drawer.grid'), c.grid?.name ?? '—'],
      [t('popup.reportedAt'), formatDateTime(c.reportedAt)],
      [t('drawer.source'), c.source],
    ];
    if (c.currentDueAt) {
      facts.push([
        t('drawer.due'),
        `${formatDateTime(c.currentDueAt)}${c.remainingMinutes !== null ? ` (${c.overdue || c.remainingMinutes < 0 ? t('queue.overdueBy') : t('queue.left')} ${formatMinutes(c.remainingMinutes)})` : ''}`,
      ]);
    }
    if (c.department) facts.push([t('drawer.department'), localName(c.department)]);
    if (c.assignee) facts.push([t('drawer.assignee'), c.assignee.displayName]);
    const list = h('dl', { class: 'cg-popup__rows' });
    for (const [label, value] of facts) list.append(h('dt', {}, label), h('dd', {}, value));

    const timeline = h(
      'ol',
      { class: 'timeline', 'data-testid': 'case-timeline' },
      ...c.events.map((e) =>
        h(
          'li',
          { 'data-action': e.action },
          h('span', { class: 'timeline__dot', style: `--swatch:${STATUS_COLORS[e.toStatus]}` }),
          h(
            'span',
            { class: 'timeline__main' },
            h('strong', {}, `${e.action} → ${t(`status.${e.toStatus}`)}`),
            h(
              'span',
              { class: 'recent__meta' },
              `${formatShortDateTime(e.at)}${e.actor ? ` · ${e.actor.displayName}` : ''}`,
            ),
            e.note ? h('span', { class: 'timeline__note' }, e.note) : null,
          ),
        ),
      ),
    );

    const photoIds = c.events.flatMap((e) => {
      const ids = e.payload?.attachmentIds;
      return Array.isArray(ids) ? ids.map(String) : [];
    });
    const photos = photoIds.length
      ? h('div', { class: 'photos', 'data-testid': 'case-photos' }, ...photoIds.map((id) => this.photo(id)))
      : null;

    const duplicates = c.possibleDuplicates.length
      ? h(
          'ul',
          { class: 'duplicates', 'data-testid': 'case-duplicates' },
          ...c.possibleDuplicates.map((d) =>
            h(
              'li',
              {},
              h(
                'button',
                { type: 'button', class: 'link', onclick: () => void this.open(d.id) },
                `${d.code} · ${t(`status.${d.status}`)} · ${formatShortDateTime(d.reportedAt)}`,
              ),
            ),
          ),
        )
      : null;

    const actions = h('div', { class: 'drawer__actions', 'data-testid': 'case-actions' });
    this.fillActions(c, actions);

    this.element.replaceChildren(
      this.header(c.id, c),
      h(
        'div',
        { class: 'drawer__body' },
        list,
        h('h3', { class: 'panel__title' }, t('drawer.actions')),
        actions,
        photos ? h('h3', { class: 'panel__title' }, t('drawer.photos')) : null,
        photos,
        duplicates ? h('h3', { class: 'panel__title' }, t('drawer.duplicates')) : null,
        duplicates,
        h('h3', { class: 'panel__title' }, t('drawer.timeline')),
        timeline,
      ),
    );
  }

  private fillActions(c: CaseDetail, into: HTMLElement): void {
    const may = COMMANDING.includes(this.options.role);
    const status = h('p', { class: 'drawer__status', role: 'status', 'data-testid': 'action-status' });
    if (may && c.status === 'REPORTED') {
      const reason = h(
        'select',
        { 'data-testid': 'reject-reason', 'aria-label': t('drawer.reject') },
        ...(['INVALID', 'DUPLICATE', 'OUT_OF_SCOPE'] as const).map((r) =>
          h('option', { value: r }, t(`drawer.reason.${r}`)),
        ),
      );
      into.append(
        h(
          'div',
          { class: 'drawer__row' },
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn--primary',
              'data-testid': 'action-file',
              onclick: () => void this.act(status, () => fileCase(this.options.request, c.id, c.version)),
            },
            t('drawer.file'),
          ),
          reason,
          h(
            'button',
            {
              type: 'button',
              class: 'btn',
              'data-testid': 'action-reject',
              onclick: () => {
                const r = reason.value as 'INVALID' | 'DUPLICATE' | 'OUT_OF_SCOPE';
                const dup = r === 'DUPLICATE' ? c.possibleDuplicates[0]?.id : undefined;
                void this.act(status, () => rejectCase(this.options.request, c.id, c.version, r, dup));
              },
            },
            t('drawer.reject'),
          ),
        ),
      );
    } else if (may && c.status === 'FILED') {
      const list = h(
        'ul',
        { class: 'suggestions', 'data-testid': 'dispatch-suggestions' },
        h('li', {}, h('span', { class: 'spinner' })),
      );
      into.append(h('h4', { class: 'drawer__sub' }, t('drawer.suggestions')), list);
      void dispatchSuggestions(this.options.request, c.id)
        .then((suggestions) => this.fillSuggestions(c, suggestions, list, status))
        .catch((error: Error) => list.replaceChildren(h('li', { class: 'login__error' }, error.message)));
    } else {
      into.append(h('p', { class: 'empty' }, t('drawer.noActions')));
    }
    into.append(status);
  }

  private fillSuggestions(
    c: CaseDetail,
    suggestions: Suggestion[],
    list: HTMLElement,
    status: HTMLElement,
  ): void {
    if (suggestions.length === 0) {
      list.replaceChildren(h('li', { class: 'empty' }, t('drawer.noSuggestions')));
      return;
    }
    list.replaceChildren(
      ...suggestions.map((s, index) => {
        const name =
          s.kind === 'WORKER' ? (s.worker?.displayName ?? '?') : s.department ? localName(s.department) : '?';
        const meta = [
          s.distanceMeters !== null ? `${t('drawer.distance')} ${Math.round(s.distanceMeters)} m` : null,
          `${t('drawer.load')} ${s.openCases}`,
          s.explanation,
        ]
          .filter(Boolean)
          .join(' · ');
        return h(
          'li',
          { 'data-kind': s.kind },
          h(
            'span',
            { class: 'recent__main' },
            h('strong', {}, name),
            h('span', { class: 'recent__meta' }, meta),
          ),
          h(
            'button',
            {
              type: 'button',
              class: index === 0 ? 'btn btn--primary' : 'btn',
              'data-testid': 'dispatch-to',
              onclick: () =>
                void this.act(status, () =>
                  dispatchCase(
                    this.options.request,
                    c.id,
                    c.version,
                    s.kind === 'WORKER' && s.worker
                      ? { assigneeId: s.worker.id }
                      : { departmentId: s.department!.id },
                  ),
                ),
            },
            t('drawer.dispatch'),
          ),
        );
      }),
    );
  }

  private async act(status: HTMLElement, action: () => Promise<void>): Promise<void> {
    const c = this.current;
    if (!c) return;
    for (const button of this.element.querySelectorAll<HTMLButtonElement>('.drawer__actions button'))
      button.disabled = true;
    status.textContent = '…';
    try {
      await action();
      status.textContent = t('drawer.done');
      await this.open(c.id);
      if (this.current) this.options.onChanged(this.current);
    } catch (error) {
      if (error instanceof GraphQLRequestError && error.code === 'CONFLICT') {
        await this.open(c.id);
        this.element.querySelector('[data-testid=action-status]')!.textContent = t('drawer.conflict');
        return;
      }
      status.textContent = `${t('drawer.failed')}: ${(error as Error).message}`;
      for (const button of this.element.querySelectorAll<HTMLButtonElement>('.drawer__actions button'))
        button.disabled = false;
    }
  }

  /** A thumbnail fetched with the token (an <img> cannot send it) and shown from a blob URL. */
  private photo(id: string): HTMLElement {
    const img = h('img', { class: 'photo', alt: t('drawer.photos'), loading: 'lazy' });
    const token = this.options.token();
    void fetch(`/attachments/${encodeURIComponent(id)}/thumbnail`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
      .then((blob) => {
        img.src = URL.createObjectURL(blob);
        const link = h('a', { href: img.src, target: '_blank', rel: 'noopener' });
        img.replaceWith(link);
        link.append(img);
      })
      .catch(() => img.classList.add('photo--missing'));
    return img;
  }
}

function badge(c: CaseDetail): HTMLElement {
  const el = h('span', { class: 'cg-badge', 'data-testid': 'drawer-status' }, t(`status.${c.status}`));
  el.style.setProperty('--badge', STATUS_COLORS[c.status]);
  return el;
}
