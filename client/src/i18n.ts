/** The UI's two languages: zh-CN by default, English on request; the choice is kept in localStorage. */

export type Locale = 'zh-CN' | 'en';

const zh = {
  'app.title': '城市运行指挥中心',
  'app.subtitle': '一网统管 · 网格化管理',
  'login.heading': '登录指挥平台',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.submitting': '正在登录…',
  'login.failed': '用户名或密码错误',
  'login.unreachable': '无法连接服务器，请稍后重试',
  'login.rateLimited': '登录尝试过于频繁，请稍后再试',
  'login.serverError': '服务器暂时无法处理登录，请稍后重试',
  'login.hint': '演示账号：commander / citygrid',
  'header.logout': '退出',
  'header.language': 'English',
  'role.ADMIN': '系统管理员',
  'role.COMMANDER': '指挥员',
  'role.DEPARTMENT': '处置部门',
  'role.WORKER': '网格员',
  'role.SUPERVISOR': '监督员',
  'status.REPORTED': '待立案',
  'status.FILED': '已立案',
  'status.DISPATCHED': '已派遣',
  'status.IN_PROGRESS': '处置中',
  'status.RESOLVED': '待核查',
  'status.CLOSED': '已结案',
  'status.REJECTED': '不予立案',
  'priority.NORMAL': '一般',
  'priority.HIGH': '紧急',
  'priority.URGENT': '特急',
  'panel.overview': '运行态势',
  'panel.casesTotal': '案件总数',
  'panel.casesOpen': '在办案件',
  'panel.casesUrgent': '特急在办',
  'panel.casesToday': '今日上报',
  'panel.byStatus': '案件状态',
  'panel.layers': '图层',
  'panel.recent': '最新上报',
  'panel.topCategories': '高发类别',
  'panel.empty': '暂无案件',
  'layer.districts': '行政区',
  'layer.streets': '街道',
  'layer.grid': '单元网格',
  'layer.cases': '案件',
  'map.loading': '正在加载城市数据…',
  'map.loadFailed': '地图数据加载失败',
  'map.retry': '重试',
  'map.fitCity': '全市视图',
  'map.districts': '个行政区',
  'map.streets': '个街道',
  'map.gridCells': '个网格',
  'map.cases': '件案件',
  'popup.case': '案件',
  'popup.category': '类别',
  'popup.status': '状态',
  'popup.priority': '等级',
  'popup.reportedAt': '上报时间',
  'popup.location': '位置',
  'popup.grid': '网格',
  'popup.code': '编码',
  'popup.district': '行政区',
  'popup.street': '街道',
  'session.expired': '登录已过期，请重新登录',
} as const;

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = {
  'app.title': 'City Operations Center',
  'app.subtitle': 'Unified operations · Grid governance',
  'login.heading': 'Sign in to the command center',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.submitting': 'Signing in…',
  'login.failed': 'Wrong username or password',
  'login.unreachable': 'Cannot reach the server, please try again',
  'login.rateLimited': 'Too many sign-in attempts, please wait a moment',
  'login.serverError': 'The server could not sign you in right now, please try again',
  'login.hint': 'Demo login: commander / citygrid',
  'header.logout': 'Sign out',
  'header.language': '中文',
  'role.ADMIN': 'Administrator',
  'role.COMMANDER': 'Commander',
  'role.DEPARTMENT': 'Department',
  'role.WORKER': 'Grid worker',
  'role.SUPERVISOR': 'Supervisor',
  'status.REPORTED': 'Reported',
  'status.FILED': 'Filed',
  'status.DISPATCHED': 'Dispatched',
  'status.IN_PROGRESS': 'In progress',
  'status.RESOLVED': 'Resolved',
  'status.CLOSED': 'Closed',
  'status.REJECTED': 'Rejected',
  'priority.NORMAL': 'Normal',
  'priority.HIGH': 'High',
  'priority.URGENT': 'Urgent',
  'panel.overview': 'Situation',
  'panel.casesTotal': 'All cases',
  'panel.casesOpen': 'Open cases',
  'panel.casesUrgent': 'Urgent open',
  'panel.casesToday': 'Reported today',
  'panel.byStatus': 'Case status',
  'panel.layers': 'Layers',
  'panel.recent': 'Latest reports',
  'panel.topCategories': 'Top categories',
  'panel.empty': 'No cases',
  'layer.districts': 'Districts',
  'layer.streets': 'Streets',
  'layer.grid': 'Grid cells',
  'layer.cases': 'Cases',
  'map.loading': 'Loading the city…',
  'map.loadFailed': 'Could not load the map data',
  'map.retry': 'Retry',
  'map.fitCity': 'Whole city',
  'map.districts': 'districts',
  'map.streets': 'streets',
  'map.gridCells': 'grid cells',
  'map.cases': 'cases',
  'popup.case': 'Case',
  'popup.category': 'Category',
  'popup.status': 'Status',
  'popup.priority': 'Priority',
  'popup.reportedAt': 'Reported',
  'popup.location': 'Location',
  'popup.grid': 'Grid cell',
  'popup.code': 'Code',
  'popup.district': 'District',
  'popup.street': 'Street',
  'session.expired': 'Your session expired, please sign in again',
};

const dictionaries: Record<Locale, Record<MessageKey, string>> = { 'zh-CN': zh, en };
const STORAGE_KEY = 'citygrid.locale';

let current: Locale = readStoredLocale();
const listeners = new Set<(locale: Locale) => void>();

function readStoredLocale(): Locale {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

/** The message for `key` in the current locale. */
export function t(key: MessageKey): string {
  return dictionaries[current][key];
}

export function locale(): Locale {
  return current;
}

export function setLocale(next: Locale): void {
  if (next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  document.documentElement.lang = next;
  for (const listener of listeners) listener(next);
}

/** Calls `listener` after every locale change; returns the unsubscribe function. */
export function onLocaleChange(listener: (locale: Locale) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A region or category name in the current locale (English falls back to the Chinese name). */
export function localName(item: { name: string; nameEn?: string | null }): string {
  return current === 'en' && item.nameEn ? item.nameEn : item.name;
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(current, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

/** Month, day and time, for lists where the year is obvious. */
export function formatShortDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(current, {
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

export function formatNumber(value: number): string {
  return value.toLocaleString(current);
}
