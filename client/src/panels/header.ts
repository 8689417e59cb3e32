/** The top bar: brand, title, a clock, the language switch and the signed-in user with sign-out. */
import { h } from '../dom';
import type { SessionUser } from '../graphql/operations';
import { locale, localName, setLocale, t } from '../i18n';
import { brandMark } from './brand';

export interface HeaderOptions {
  user: SessionUser;
  onLogout: () => void;
}

export function renderHeader(options: HeaderOptions): HTMLElement {
  const { user } = options;
  const clock = h('time', { class: 'topbar__clock', 'data-testid': 'clock' });
  const tick = () => {
    if (!clock.isConnected && clock.textContent) return;
    const now = new Date();
    clock.dateTime = now.toISOString();
    clock.textContent = now.toLocaleString(locale(), {
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    });
    setTimeout(tick, 1000 - (now.getTime() % 1000));
  };
  tick();

  const name = user.displayName || user.username;
  return h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'topbar__brand' },
      brandMark(28),
      h(
        'div',
        { class: 'topbar__titles' },
        h('h1', { class: 'topbar__title' }, t('app.title')),
        h('span', { class: 'topbar__subtitle' }, t('app.subtitle')),
      ),
    ),
    h('div', { class: 'topbar__spacer' }),
    h('span', { class: 'topbar__live' }, h('span', { class: 'live-dot' }), 'LIVE'),
    clock,
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn--ghost',
        'data-testid': 'language',
        onclick: () => setLocale(locale() === 'en' ? 'zh-CN' : 'en'),
      },
      t('header.language'),
    ),
    h(
      'div',
      { class: 'user-chip', 'data-testid': 'current-user' },
      h('span', { class: 'user-chip__avatar', 'aria-hidden': 'true' }, name.slice(0, 1).toUpperCase()),
      h(
        'span',
        { class: 'user-chip__text' },
        h('span', { class: 'user-chip__name' }, name),
        h(
          'span',
          { class: 'user-chip__role', 'data-role': user.role },
          user.region ? `${t(`role.${user.role}`)} · ${localName(user.region)}` : t(`role.${user.role}`),
        ),
      ),
    ),
    h(
      'button',
      { type: 'button', class: 'btn btn--ghost', 'data-testid': 'logout', onclick: options.onLogout },
      t('header.logout'),
    ),
  );
}
