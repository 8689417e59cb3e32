/**
 * The field app for grid workers (网格员) at /field: sign-in, then three tabs — report, my work,
 * outbox — under a bar with the connection state, the on-duty toggle and the language switch.
 * Installable (manifest + service worker), and usable offline once it has been opened online.
 */
import './field.css';
import { h } from '../dom';
import { createGraphQLClient, GraphQLRequestError } from '../graphql/client';
import { clearSession, currentToken, loadSession, saveSession } from '../session';
import { type FieldUser, fetchCategories, fetchMe, fetchMyCells, fetchMyWork, login } from './api';
import type { FieldContext } from './context';
import { DutyTracker } from './duty';
import { fieldLocale, onLocaleChange, t, toggleLocale } from './i18n';
import { subscribeCaseChanges } from './live';
import { Outbox } from './outbox';
import { renderQueue } from './queue-view';
import { renderReport } from './report-view';
import { renderWork } from './work-view';

type Tab = 'report' | 'work' | 'queue';

const root = document.getElementById('field-app')!;
document.documentElement.lang = fieldLocale();

const request = createGraphQLClient({
  token: currentToken,
  onUnauthenticated: () => signOut(),
});

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker
    .register('/field/sw.js', { scope: '/field/' })
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      document.documentElement.dataset.sw = 'ready';
    })
    .catch(() => {
      document.documentElement.dataset.sw = 'failed';
    });
}

/**
 * One outbox per page. Token and owner both come from the stored session at send time, so after a
 * sign-out and another worker's sign-in, nothing of the first worker's is sent as the second.
 */
const outbox = new Outbox({
  request,
  token: currentToken,
  username: () => loadSession()?.user.username ?? null,
  onSent: () => void ctx?.refreshWork(),
});

let ctx: FieldContext | null = null;

// The first time the service worker takes the page, read the lists once more through it, so it
// holds them for offline use without waiting for the next start.
navigator.serviceWorker?.addEventListener('controllerchange', () => {
  if (!ctx) return;
  void Promise.allSettled([
    fetchMe(request),
    fetchMyCells(request),
    fetchCategories(request),
    fetchMyWork(request),
  ]);
});
let stopLive: (() => void) | undefined;
let duty: DutyTracker | undefined;

function currentTab(): Tab {
  const tab = location.hash.replace('#', '');
  return tab === 'work' || tab === 'queue' ? tab : 'report';
}

function showLogin(message?: string): void {
  root.replaceChildren();
  const error = h('p', { class: 'form-error', 'data-testid': 'login-error' }, message ?? '');
  const form = h(
    'form',
    { class: 'login', id: 'field-login' },
    h('h1', {}, t('app.title')),
    h('h2', {}, t('login.heading')),
    h(
      'label',
      {},
      t('login.username'),
      h('input', { name: 'username', autocomplete: 'username', required: true }),
    ),
    h(
      'label',
      {},
      t('login.password'),
      h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    ),
    h('button', { type: 'submit', class: 'primary' }, t('login.submit')),
    error,
    h(
      'button',
      { type: 'button', class: 'link', 'data-testid': 'language', onclick: () => toggleLocale() },
      t('lang.switch'),
    ),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const session = await login(request, String(data.get('username')), String(data.get('password')));
      if (session.user.role !== 'WORKER') {
        error.textContent = t('login.workersOnly');
        return;
      }
      saveSession({ token: session.token, user: { ...session.user, role: 'WORKER' } });
      await start(session.user);
    } catch (e) {
      error.textContent =
        e instanceof GraphQLRequestError && e.code === 'NETWORK_ERROR'
          ? t('login.offline')
          : t('login.failed');
    }
  });
  root.append(form);
}

async function start(user: FieldUser): Promise<void> {
  // The report form needs cells and categories (the service worker answers these from its cache
  // at once); the work lists follow when they come.
  const workLoad = fetchMyWork(request).catch(() => null);
  const [cells, categories] = await Promise.all([
    fetchMyCells(request).catch(() => []),
    fetchCategories(request).catch(() => []),
  ]);
  // Signed out meanwhile (an expired token answered UNAUTHENTICATED): stay on the sign-in form.
  if (!currentToken()) return;
  ctx = {
    request,
    token: currentToken,
    user,
    outbox,
    cells,
    categories,
    work: null,
    async refreshWork() {
      if (!ctx) return;
      const before = JSON.stringify(ctx.work);
      ctx.work = await fetchMyWork(request).catch(() => ctx?.work ?? null);
      // Unchanged lists leave the page alone (an open form, the map).
      if (currentTab() === 'work' && JSON.stringify(ctx.work) !== before) render();
    },
    toast,
  };
  duty = new DutyTracker(request, ({ onDuty, error }) => {
    const button = document.querySelector<HTMLButtonElement>('[data-testid=duty]');
    if (button) {
      button.textContent = onDuty ? t('duty.on') : t('duty.off');
      button.classList.toggle('on', onDuty);
      button.title = error ?? '';
    }
  });
  render();
  void workLoad.then((work) => {
    if (!ctx || !work) return;
    ctx.work = work;
    if (currentTab() === 'work') render();
  });
  duty.resume();
  await outbox.recover();
  void outbox.flush({ now: true });
  stopLive?.();
  stopLive = subscribeCaseChanges(currentToken, (change) => {
    if (!ctx) return;
    if (change.action === 'DISPATCH' && change.case.assignee?.id === ctx.user.id) {
      notify(`${t('work.newAssigned')}: ${change.case.code}`);
    }
    scheduleRefresh();
  });
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
/** Bursts of events become one re-read. */
function scheduleRefresh(): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void ctx?.refreshWork(), 150);
}

function notify(message: string): void {
  toast(message);
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const show = (registration: ServiceWorkerRegistration | undefined) => {
    if (registration) void registration.showNotification(t('app.title'), { body: message, tag: message });
    else new Notification(t('app.title'), { body: message });
  };
  navigator.serviceWorker?.getRegistration('/field/').then(show, () => show(undefined));
}

/** Outside the re-rendered tree, so a re-render does not take a toast away. */
const toasts = h('div', { class: 'toasts', 'data-testid': 'toasts', 'aria-live': 'polite' });
document.body.append(toasts);

function toast(message: string): void {
  const area = toasts;
  const item = h('div', { class: 'toast', role: 'status' }, message);
  area.append(item);
  setTimeout(() => item.remove(), 8_000);
}

function render(): void {
  if (!ctx) return;
  const tab = currentTab();
  const online = navigator.onLine;
  const tabButton = (id: Tab, label: string) =>
    h('a', { href: `#${id}`, class: tab === id ? 'tab active' : 'tab', 'data-testid': `tab-${id}` }, label);
  const view = h('main', { class: 'view', 'data-view': tab });
  root.replaceChildren(
    h(
      'header',
      { class: 'bar' },
      h('strong', {}, t('app.title')),
      h(
        'span',
        { class: online ? 'net online' : 'net offline', 'data-testid': 'network' },
        online ? t('net.online') : t('net.offline'),
      ),
      h(
        'button',
        {
          type: 'button',
          class: duty?.onDuty ? 'duty on' : 'duty',
          'data-testid': 'duty',
          onclick: onDutyClick,
        },
        duty?.onDuty ? t('duty.on') : t('duty.off'),
      ),
      h(
        'button',
        { type: 'button', class: 'link', 'data-testid': 'language', onclick: () => toggleLocale() },
        t('lang.switch'),
      ),
      h(
        'button',
        { type: 'button', class: 'link', 'data-testid': 'logout', onclick: () => signOut() },
        t('nav.logout'),
      ),
    ),
    h(
      'nav',
      { class: 'tabs' },
      tabButton('report', t('nav.report')),
      tabButton('work', t('nav.work')),
      tabButton('queue', t('nav.queue')),
    ),
    view,
  );
  if (tab === 'report') renderReport(view, ctx);
  else if (tab === 'work') renderWork(view, ctx);
  else renderQueue(view, ctx);
}

function onDutyClick(): void {
  if ('Notification' in window && Notification.permission === 'default')
    void Notification.requestPermission();
  void duty?.toggle();
}

function signOut(): void {
  void duty?.stop();
  stopLive?.();
  stopLive = undefined;
  ctx = null;
  clearSession();
  navigator.serviceWorker?.controller?.postMessage({ type: 'clear-data' });
  showLogin();
}

window.addEventListener('hashchange', render);
window.addEventListener('online', render);
window.addEventListener('offline', render);
onLocaleChange(() => (ctx ? render() : showLogin()));

async function boot(): Promise<void> {
  const stored = loadSession();
  if (!stored) return showLogin();
  // Start at once with the stored user (offline too); a token the server no longer takes answers
  // UNAUTHENTICATED to the first request, which signs out.
  await start({
    id: stored.user.id,
    username: stored.user.username,
    displayName: stored.user.displayName ?? '',
    role: stored.user.role,
  });
  void fetchMe(request).catch(() => undefined);
}

void boot();
