/** The outbox (待发送): every kept report with its state, attempts, next try and last error. */
import { h } from '../dom';
import type { FieldContext } from './context';
import { shortTime, t } from './i18n';
import type { OutboxItem } from './outbox';

export function renderQueue(view: HTMLElement, ctx: FieldContext): void {
  const list = h('ul', { class: 'queue', 'data-testid': 'outbox' });
  const draw = (items: OutboxItem[]) => {
    if (!list.isConnected && view.isConnected === false) return;
    list.replaceChildren(
      ...(items.length === 0
        ? [h('li', { class: 'muted' }, t('queue.empty'))]
        : [...items]
            .reverse()
            .map((item) =>
              h(
                'li',
                { class: `queue-item ${item.state}`, 'data-outbox-key': item.key, 'data-state': item.state },
                h(
                  'div',
                  {},
                  h('strong', {}, item.categoryName),
                  ' ',
                  h('span', { class: `state ${item.state}` }, t(`queue.state.${item.state}`)),
                ),
                h('div', { class: 'muted' }, `${shortTime(item.createdAt)} · ${item.description}`),
                item.caseCode ? h('div', { 'data-testid': 'outbox-case-code' }, item.caseCode) : null,
                item.attempts > 0 && item.state !== 'sent'
                  ? h(
                      'small',
                      {},
                      `${item.attempts} ${t('queue.attempts')}${item.state === 'retrying' ? ` · ${t('queue.nextTry')} ${shortTime(item.nextAttemptAt)}` : ''}`,
                    )
                  : null,
                item.lastError && item.state !== 'sent'
                  ? h('small', { class: 'form-error' }, item.lastError)
                  : null,
              ),
            )),
    );
  };
  const unsubscribe = ctx.outbox.onChange((items) => {
    if (!list.isConnected) return unsubscribe();
    draw(items);
  });
  view.append(
    list,
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        'data-testid': 'outbox-retry',
        onclick: () => void ctx.outbox.flush({ now: true }),
      },
      t('queue.retryNow'),
    ),
  );
  void ctx.outbox.list().then(draw);
}
