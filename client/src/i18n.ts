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
  'layer.sensors': '传感器',
  'layer.workers': '网格员',
  'layer.heat': '上报热力',
  'heat.period': '热力时段',
  'heat.days1': '近1天',
  'heat.days7': '近7天',
  'heat.days30': '近30天',
  'legend.title': '图例',
  'legend.choropleth': '网格在办',
  'legend.none': '无在办',
  'legend.few': '有在办',
  'legend.many': '在办≥5',
  'legend.overdue': '有超期',
  'sensor.normal': '正常',
  'sensor.alarm': '告警',
  'sensor.offline': '离线',
  'sensor.unknown': '未知',
  'legend.worker': '在岗网格员',
  'legend.urgent': '特急',
  'legend.overdueCase': '超期案件',
  'kpi.reported': '今日上报',
  'kpi.filed': '今日立案',
  'kpi.closed': '今日结案',
  'kpi.onTime': '按期结案率',
  'kpi.alarms': '活动告警',
  'kpi.workers': '在岗网格员',
  'queue.title': '案件队列',
  'queue.allStatus': '全部在办',
  'queue.category': '全部类别',
  'queue.overdueOnly': '只看超期',
  'queue.empty': '没有符合条件的案件',
  'queue.left': '剩余',
  'queue.overdueBy': '超期',
  'queue.noClock': '无时限',
  'alarms.title': '告警',
  'alarms.empty': '暂无告警',
  'alarms.ack': '确认',
  'alarms.acked': '已确认',
  'severity.INFO': '提示',
  'severity.WARNING': '警告',
  'severity.CRITICAL': '严重',
  'trend.title': '近30天趋势',
  'trend.reported': '上报',
  'trend.closed': '结案',
  'drawer.close': '关闭',
  'drawer.timeline': '办理过程',
  'drawer.photos': '照片',
  'drawer.duplicates': '疑似重复',
  'drawer.actions': '操作',
  'drawer.noActions': '当前状态下无可用操作',
  'drawer.file': '立案',
  'drawer.reject': '不予立案',
  'drawer.dispatch': '派遣',
  'drawer.suggestions': '派遣建议',
  'drawer.noSuggestions': '暂无可派遣的网格员或部门',
  'drawer.reason.INVALID': '无效',
  'drawer.reason.DUPLICATE': '重复',
  'drawer.reason.OUT_OF_SCOPE': '非受理范围',
  'drawer.done': '已提交',
  'drawer.failed': '操作失败',
  'drawer.conflict': '案件已被他人更新，已刷新',
  'drawer.description': '描述',
  'drawer.address': '地址',
  'drawer.grid': '网格',
  'drawer.due': '时限',
  'drawer.department': '处置部门',
  'drawer.assignee': '处置人',
  'drawer.source': '来源',
  'drawer.distance': '距离',
  'drawer.load': '在办',
  'sensor.title': '传感器',
  'sensor.latest': '最新读数',
  'sensor.readings': '近24小时',
  'sensor.lastSeen': '最后通信',
  'sensor.noReadings': '暂无读数',
  'popup.worker': '网格员',
  'popup.cellCases': '网格案件',
  'popup.open': '在办',
  'popup.overdue': '超期',
  'live.connected': '实时',
  'live.disconnected': '重连中',
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
  'layer.sensors': 'Sensors',
  'layer.workers': 'Workers',
  'layer.heat': 'Report heatmap',
  'heat.period': 'Heatmap period',
  'heat.days1': '1 day',
  'heat.days7': '7 days',
  'heat.days30': '30 days',
  'legend.title': 'Legend',
  'legend.choropleth': 'Open cases per cell',
  'legend.none': 'None open',
  'legend.few': 'Some open',
  'legend.many': '5+ open',
  'legend.overdue': 'Overdue',
  'sensor.normal': 'Normal',
  'sensor.alarm': 'Alarm',
  'sensor.offline': 'Offline',
  'sensor.unknown': 'Unknown',
  'legend.worker': 'Worker on duty',
  'legend.urgent': 'Urgent',
  'legend.overdueCase': 'Overdue case',
  'kpi.reported': 'Reported today',
  'kpi.filed': 'Filed today',
  'kpi.closed': 'Closed today',
  'kpi.onTime': 'On-time closure',
  'kpi.alarms': 'Active alarms',
  'kpi.workers': 'Workers on duty',
  'queue.title': 'Case queue',
  'queue.allStatus': 'All open',
  'queue.category': 'All categories',
  'queue.overdueOnly': 'Overdue only',
  'queue.empty': 'No cases match',
  'queue.left': 'left',
  'queue.overdueBy': 'overdue',
  'queue.noClock': 'no deadline',
  'alarms.title': 'Alarms',
  'alarms.empty': 'No alarms',
  'alarms.ack': 'Acknowledge',
  'alarms.acked': 'Acknowledged',
  'severity.INFO': 'Info',
  'severity.WARNING': 'Warning',
  'severity.CRITICAL': 'Critical',
  'trend.title': 'Last 30 days',
  'trend.reported': 'Reported',
  'trend.closed': 'Closed',
  'drawer.close': 'Close',
  'drawer.timeline': 'Timeline',
  'drawer.photos': 'Photos',
  'drawer.duplicates': 'Possible duplicates',
  'drawer.actions': 'Actions',
  'drawer.noActions': 'No action available in this status',
  'drawer.file': 'File',
  'drawer.reject': 'Reject',
  'drawer.dispatch': 'Dispatch',
  'drawer.suggestions': 'Suggested handlers',
  'drawer.noSuggestions': 'No worker or department to suggest',
  'drawer.reason.INVALID': 'Invalid',
  'drawer.reason.DUPLICATE': 'Duplicate',
  'drawer.reason.OUT_OF_SCOPE': 'Out of scope',
  'drawer.done': 'Done',
  'drawer.failed': 'The action failed',
  'drawer.conflict': 'Someone else changed the case; reloaded',
  'drawer.description': 'Description',
  'drawer.address': 'Address',
  'drawer.grid': 'Grid cell',
  'drawer.due': 'Due',
  'drawer.department': 'Department',
  'drawer.assignee': 'Assignee',
  'drawer.source': 'Source',
  'drawer.distance': 'Distance',
  'drawer.load': 'Open',
  'sensor.title': 'Sensor',
  'sensor.latest': 'Latest',
  'sensor.readings': 'Last 24 hours',
  'sensor.lastSeen': 'Last seen',
  'sensor.noReadings': 'No readings yet',
  'popup.worker': 'Grid worker',
  'popup.cellCases': 'Cases in cell',
  'popup.open': 'Open',
  'popup.overdue': 'Overdue',
  'live.connected': 'Live',
  'live.disconnected': 'Reconnecting',
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
