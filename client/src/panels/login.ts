/** The sign-in screen: username and password, an error line, and the language switch. */
import { h } from '../dom';
import { locale, setLocale, t } from '../i18n';
import { brandMark } from './brand';

export interface LoginViewOptions {
  /** Resolves when signed in; rejects with the message to show. */
  onSubmit: (username: string, password: string) => Promise<void>;
  /** Shown above the form, e.g. after a session expired. */
  notice?: string;
}

export function renderLogin(root: HTMLElement, options: LoginViewOptions): void {
  const error = h('p', { class: 'login__error', role: 'alert', 'data-testid': 'login-error', hidden: true });
  const username = h('input', {
    name: 'username',
    autocomplete: 'username',
    required: true,
    autofocus: true,
    spellcheck: 'false',
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn--primary login__submit' }, t('login.submit'));

  const form = h(
    'form',
    { class: 'login__form', id: 'login-form', novalidate: true },
    h('h2', { class: 'login__heading' }, t('login.heading')),
    options.notice ? h('p', { class: 'login__notice' }, options.notice) : null,
    h('label', { class: 'field' }, h('span', { class: 'field__label' }, t('login.username')), username),
    h('label', { class: 'field' }, h('span', { class: 'field__label' }, t('login.password')), password),
    error,
    submit,
    h('p', { class: 'login__hint' }, t('login.hint')),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      username.focus();
      return;
    }
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = t('login.submitting');
    try {
      await options.onSubmit(username.value.trim(), password.value);
    } catch (failure) {
      error.textContent = (failure as Error).message;
      error.hidden = false;
      password.select();
    } finally {
      if (submit.isConnected) {
        submit.disabled = false;
        submit.textContent = t('login.submit');
      }
    }
  });

  const languageSwitch = h(
    'button',
    {
      type: 'button',
      class: 'btn btn--ghost login__lang',
      onclick: () => setLocale(locale() === 'en' ? 'zh-CN' : 'en'),
    },
    t('header.language'),
  );

  root.replaceChildren(
    h(
      'main',
      { class: 'login' },
      h('div', { class: 'login__grid', 'aria-hidden': 'true' }),
      languageSwitch,
      h(
        'section',
        { class: 'login__card' },
        h(
          'div',
          { class: 'login__brand' },
          brandMark(40),
          h(
            'div',
            {},
            h('h1', { class: 'login__title' }, t('app.title')),
            h('p', { class: 'login__subtitle' }, t('app.subtitle')),
          ),
        ),
        form,
      ),
      h('footer', { class: 'login__footer' }, 'Citygrid · Apache-2.0'),
    ),
  );
  username.focus();
}
