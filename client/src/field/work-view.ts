/**
 * My work (我的任务): my cells on a small map; cases dispatched to me (accept, navigate, resolve with
 * an after-photo and a note, return as misrouted); cases in my cells waiting for my check (pass or
 * fail with a photo and a note); my reports and where they stand. Kept current by `caseChanged`.
 */
import { h } from '../dom';
import { GraphQLRequestError } from '../graphql/client';
import { type FieldCase, transition, uploadPhoto } from './api';
import type { FieldContext } from './context';
import { localName, shortTime, t } from './i18n';
import { compressPhoto } from './photo';

type Action = 'resolve' | 'return' | 'pass' | 'fail';

export function renderWork(view: HTMLElement, ctx: FieldContext): void {
  const mapBox = h('div', { class: 'mini-map', 'data-testid': 'work-map' });
  const work = ctx.work;
  const section = (id: string, title: string, cases: FieldCase[], actions: (c: FieldCase) => Node[]) =>
    h(
      'section',
      { class: 'card', 'data-testid': id },
      h('h3', {}, `${title} (${cases.length})`),
      cases.length === 0
        ? h('p', { class: 'muted' }, t('work.none'))
        : h('ul', { class: 'cases' }, ...cases.map((c) => caseItem(c, actions(c)))),
    );
  const caseItem = (c: FieldCase, buttons: Node[]) =>
    h(
      'li',
      { class: 'case', 'data-case-id': c.id, 'data-status': c.status },
      h(
        'div',
        {},
        h('strong', {}, c.code),
        ' ',
        h('span', { class: `status ${c.status}` }, t(`status.${c.status}`)),
        c.reworkCount > 0 ? h('span', { class: 'rework' }, ` ${t('work.rework')} ×${c.reworkCount}`) : null,
      ),
      h('div', {}, `${localName(c.category)} · ${c.grid.name}`),
      h('div', { class: 'muted' }, `${shortTime(c.reportedAt)} · ${c.description}`),
      buttons.length ? h('div', { class: 'actions' }, ...buttons) : null,
    );
  const button = (label: string, action: string, onclick: () => void) =>
    h('button', { type: 'button', class: 'secondary', 'data-action': action, onclick }, label);
  const navigateLink = (c: FieldCase) =>
    h(
      'a',
      {
        class: 'button secondary',
        'data-action': 'navigate',
        href: `geo:${c.location.lat},${c.location.lon}?q=${c.location.lat},${c.location.lon}(${encodeURIComponent(c.code)})`,
      },
      t('work.navigate'),
    );

  const accept = (c: FieldCase) => async () => {
    if (!navigator.onLine) return ctx.toast(t('work.offline'));
    try {
      await transition(ctx.request, c, { kind: 'accept' });
      await ctx.refreshWork();
    } catch (error) {
      ctx.toast(errorText(error));
    }
  };

  const openForm = (c: FieldCase, action: Action, anchor: HTMLElement) => {
    anchor.querySelector('.action-form')?.remove();
    const note = h('textarea', { rows: 2, placeholder: t('work.note'), 'data-testid': 'action-note' });
    const photo = h('input', {
      type: 'file',
      accept: 'image/*',
      capture: 'environment',
      'data-testid': 'action-photo',
    });
    const error = h('p', { class: 'form-error', 'data-testid': 'action-error' });
    const submit = h(
      'button',
      { type: 'button', class: 'primary', 'data-testid': 'action-submit' },
      t('work.submit'),
    );
    const form = h(
      'div',
      { class: 'action-form', 'data-form': action },
      action === 'return' ? null : h('label', { class: 'file' }, t('work.photo'), photo),
      note,
      error,
      h(
        'div',
        { class: 'actions' },
        submit,
        h('button', { type: 'button', class: 'link', onclick: () => form.remove() }, t('work.cancel')),
      ),
    );
    submit.addEventListener('click', async () => {
      const text = note.value.trim();
      const file = photo.files?.[0];
      const problem = !navigator.onLine
        ? t('work.offline')
        : (action === 'resolve' || action === 'return' || action === 'fail') && !text
          ? t('work.needNote')
          : action === 'resolve' && !file
            ? t('work.needPhoto')
            : '';
      error.textContent = problem;
      if (problem) return;
      submit.disabled = true;
      try {
        const attachmentIds = file
          ? [await uploadPhoto(ctx.token(), await compressPhoto(file).catch(() => file))]
          : [];
        if (action === 'return') await transition(ctx.request, c, { kind: 'return', note: text });
        else if (action === 'resolve')
          await transition(ctx.request, c, { kind: 'resolve', note: text, attachmentIds });
        else
          await transition(ctx.request, c, {
            kind: 'verify',
            passed: action === 'pass',
            note: text,
            attachmentIds,
          });
        ctx.toast(`${c.code} · ${t('work.done')}`);
        await ctx.refreshWork();
      } catch (e) {
        error.textContent = errorText(e);
        submit.disabled = false;
      }
    });
    anchor.append(form);
  };
  const formButton = (c: FieldCase, action: Action, label: string) => {
    const b = button(label, action, () => openForm(c, action, b.closest('li')!));
    return b;
  };

  view.append(
    h(
      'section',
      { class: 'card' },
      h('h3', {}, `${t('work.cells')} (${ctx.cells.length})`),
      h('div', { class: 'muted' }, ctx.cells.map((c) => c.name).join('、')),
      mapBox,
    ),
    section('work-assigned', t('work.assigned'), work?.assigned ?? [], (c) =>
      c.status === 'DISPATCHED'
        ? [
            button(t('work.accept'), 'accept', accept(c)),
            navigateLink(c),
            formButton(c, 'return', t('work.return')),
          ]
        : [navigateLink(c), formButton(c, 'resolve', t('work.resolve'))],
    ),
    section('work-verify', t('work.toVerify'), work?.toVerify ?? [], (c) => [
      navigateLink(c),
      formButton(c, 'pass', t('work.pass')),
      formButton(c, 'fail', t('work.fail')),
    ]),
    section('work-reported', t('work.reported'), work?.reported ?? [], () => []),
  );
  import('./cells-map')
    .then(({ createCellsMap }) => {
      if (mapBox.isConnected) createCellsMap(mapBox, ctx.cells);
    })
    .catch(() => mapBox.classList.add('unavailable'));
}

function errorText(error: unknown): string {
  if (error instanceof GraphQLRequestError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
