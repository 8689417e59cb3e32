/** Entry point: sign-in, then the command center; the session survives reloads until sign-out. */
import './styles.css';
import { CommandCenter, prepareCommandMap } from './command-center';
import { createGraphQLClient, GraphQLRequestError } from './graphql/client';
import { login } from './graphql/operations';
import { locale, onLocaleChange, t } from './i18n';
import { startMapWorkers } from './map/workers';
import { renderLogin } from './panels/login';
import { clearSession, currentToken, loadSession, type Session, saveSession } from './session';

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');
document.documentElement.lang = locale();

let view: { kind: 'login'; notice?: string } | { kind: 'center'; center: CommandCenter } = { kind: 'login' };
/** The map, made while the sign-in request is out (kept for the next try if sign-in fails). */
let preparedMap: ReturnType<typeof prepareCommandMap> | undefined;

const request = createGraphQLClient({
  token: currentToken,
  onUnauthenticated: () => signOut(t('session.expired')),
});

function showLogin(notice?: string): void {
  view = notice ? { kind: 'login', notice } : { kind: 'login' };
  document.title = `Citygrid · ${t('app.title')}`;
  renderLogin(root!, {
    notice,
    onSubmit: async (username, password) => {
      let session: Session;
      // The request leaves first; the map is built while the server checks the password.
      const signingIn = login(request, username, password);
      preparedMap ??= prepareCommandMap();
      try {
        session = await signingIn;
      } catch (error) {
        throw new Error(loginFailureMessage(error));
      }
      saveSession(session);
      showCommandCenter(session);
    },
  });
}

/** What the sign-in form says when sign-in fails. */
function loginFailureMessage(error: unknown): string {
  if (!(error instanceof GraphQLRequestError)) return t('login.serverError');
  switch (error.code) {
    case 'UNAUTHENTICATED':
    case 'BAD_USER_INPUT':
    case 'FORBIDDEN':
      return t('login.failed');
    case 'RATE_LIMITED':
      return t('login.rateLimited');
    case 'NETWORK_ERROR':
      return t('login.unreachable');
    default:
      return t('login.serverError');
  }
}

function showCommandCenter(session: Session): void {
  const map = preparedMap;
  preparedMap = undefined;
  const center = new CommandCenter({
    root: root!,
    request,
    user: session.user,
    onLogout: () => signOut(),
    ...(map ? { map } : {}),
  });
  view = { kind: 'center', center };
  document.title = `${t('app.title')} · Citygrid`;
  void center.load();
}

function signOut(notice?: string): void {
  if (view.kind === 'center') view.center.destroy();
  clearSession();
  showLogin(notice);
}

onLocaleChange(() => {
  if (view.kind === 'center') {
    document.title = `${t('app.title')} · Citygrid`;
    view.center.render();
  } else showLogin(view.notice);
});

startMapWorkers();
const stored = loadSession();
// The admin area (client/src/admin) for a signed-in user at /admin; the server checks ADMIN.
if (stored && location.pathname.startsWith('/admin'))
  void import('./admin').then((m) => m.mountAdmin(root, request));
else if (stored) showCommandCenter(stored);
else showLogin();
