/** The field app's words: zh-CN by default, English on request (kept in localStorage). */

export type FieldLocale = 'zh-CN' | 'en';

const zh = {
  'app.title': '网格通',
  'login.heading': '网格员登录',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.failed': '用户名或密码错误',
  'login.offline': '离线时无法登录，请联网后重试',
  'login.workersOnly': '此应用供网格员使用',
  'nav.report': '上报',
  'nav.work': '我的任务',
  'nav.queue': '待发送',
  'nav.logout': '退出',
  'lang.switch': 'English',
  'net.online': '在线',
  'net.offline': '离线',
  'duty.on': '在岗',
  'duty.off': '离岗',
  'duty.noGps': '无法获取位置',
  'report.photo': '拍照 / 选择照片',
  'report.photoReady': '照片已压缩',
  'report.location': '位置',
  'report.locate': '重新定位',
  'report.locating': '正在定位…',
  'report.accuracy': '精度',
  'report.noFix': '尚未定位',
  'report.dragHint': '可拖动地图上的图钉调整位置',
  'report.grid': '所属网格',
  'report.gridUnknown': '未知网格（离线或不在辖区内）',
  'report.gridMine': '我的网格',
  'report.category': '类别',
  'report.categorySearch': '搜索类别（名称、编码、关键词）',
  'report.recent': '最近使用',
  'report.duplicates': '附近可能重复的案件',
  'report.noDuplicates': '附近 50 米内无同类在办案件',
  'report.note': '描述',
  'report.notePlaceholder': '现场情况说明',
  'report.send': '上报',
  'report.missing': '请选择类别、定位并填写描述',
  'report.queued': '已加入待发送队列',
  'queue.empty': '没有待发送的上报',
  'queue.retryNow': '立即重试',
  'queue.state.queued': '等待发送',
  'queue.state.uploading': '正在上传照片',
  'queue.state.sending': '正在提交',
  'queue.state.retrying': '等待重试',
  'queue.state.sent': '已提交',
  'queue.state.failed': '提交失败',
  'queue.attempts': '次尝试',
  'queue.nextTry': '下次重试',
  'work.cells': '我的网格',
  'work.assigned': '派给我的案件',
  'work.toVerify': '待我核查',
  'work.reported': '我的上报',
  'work.none': '暂无',
  'work.accept': '接单',
  'work.navigate': '导航',
  'work.resolve': '处置完成',
  'work.return': '退回（派错）',
  'work.pass': '核查通过',
  'work.fail': '核查不通过',
  'work.note': '说明',
  'work.photo': '照片',
  'work.submit': '提交',
  'work.cancel': '取消',
  'work.needNote': '请填写说明',
  'work.needPhoto': '请拍摄处置后照片',
  'work.offline': '离线时无法办理，请联网后重试',
  'work.done': '已办理',
  'work.newAssigned': '新派遣案件',
  'work.rework': '返工',
  'work.offlineData': '离线数据',
  'status.REPORTED': '待立案',
  'status.FILED': '已立案',
  'status.DISPATCHED': '已派遣',
  'status.IN_PROGRESS': '处置中',
  'status.RESOLVED': '待核查',
  'status.CLOSED': '已结案',
  'status.REJECTED': '不予立案',
} as const;

export type FieldMessageKey = keyof typeof zh;

const en: Record<FieldMessageKey, string> = {
  'app.title': 'Grid Field',
  'login.heading': 'Grid worker sign-in',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.failed': 'Wrong username or password',
  'login.offline': 'Signing in needs a connection; try again when online',
  'login.workersOnly': 'This app is for grid workers',
  'nav.report': 'Report',
  'nav.work': 'My work',
  'nav.queue': 'Outbox',
  'nav.logout': 'Sign out',
  'lang.switch': '中文',
  'net.online': 'Online',
  'net.offline': 'Offline',
  'duty.on': 'On duty',
  'duty.off': 'Off duty',
  'duty.noGps': 'No position',
  'report.photo': 'Take / pick a photo',
  'report.photoReady': 'Photo compressed',
  'report.location': 'Location',
  'report.locate': 'Locate again',
  'report.locating': 'Locating…',
  'report.accuracy': 'Accuracy',
  'report.noFix': 'No fix yet',
  'report.dragHint': 'Drag the pin on the map to adjust',
  'report.grid': 'Grid cell',
  'report.gridUnknown': 'Unknown cell (offline or outside your area)',
  'report.gridMine': 'my cell',
  'report.category': 'Category',
  'report.categorySearch': 'Search categories (name, code, keyword)',
  'report.recent': 'Recent',
  'report.duplicates': 'Possible duplicates nearby',
  'report.noDuplicates': 'No open case of this category within 50 m',
  'report.note': 'Description',
  'report.notePlaceholder': 'What is there',
  'report.send': 'Send report',
  'report.missing': 'Pick a category, get a location and write a description',
  'report.queued': 'Added to the outbox',
  'queue.empty': 'Nothing waiting to be sent',
  'queue.retryNow': 'Retry now',
  'queue.state.queued': 'Waiting',
  'queue.state.uploading': 'Uploading photo',
  'queue.state.sending': 'Sending',
  'queue.state.retrying': 'Will retry',
  'queue.state.sent': 'Sent',
  'queue.state.failed': 'Failed',
  'queue.attempts': 'attempts',
  'queue.nextTry': 'next try',
  'work.cells': 'My grid cells',
  'work.assigned': 'Dispatched to me',
  'work.toVerify': 'Waiting for my check',
  'work.reported': 'My reports',
  'work.none': 'None',
  'work.accept': 'Accept',
  'work.navigate': 'Navigate',
  'work.resolve': 'Resolved',
  'work.return': 'Return (misrouted)',
  'work.pass': 'Passed',
  'work.fail': 'Not fixed',
  'work.note': 'Note',
  'work.photo': 'Photo',
  'work.submit': 'Submit',
  'work.cancel': 'Cancel',
  'work.needNote': 'Write a note',
  'work.needPhoto': 'Take an after photo',
  'work.offline': 'This needs a connection; try again when online',
  'work.done': 'Done',
  'work.newAssigned': 'New case dispatched',
  'work.rework': 'rework',
  'work.offlineData': 'offline data',
  'status.REPORTED': 'Reported',
  'status.FILED': 'Filed',
  'status.DISPATCHED': 'Dispatched',
  'status.IN_PROGRESS': 'In progress',
  'status.RESOLVED': 'Resolved',
  'status.CLOSED': 'Closed',
  'status.REJECTED': 'Rejected',
};

const STORAGE_KEY = 'citygrid.field.locale';
let current: FieldLocale = read();
const listeners = new Set<() => void>();

function read(): FieldLocale {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

export function t(key: FieldMessageKey): string {
  return current === 'en' ? en[key] : zh[key];
}

export function fieldLocale(): FieldLocale {
  return current;
}

export function toggleLocale(): void {
  current = current === 'en' ? 'zh-CN' : 'en';
  try {
    localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // Private mode: this page only.
  }
  document.documentElement.lang = current;
  for (const listener of listeners) listener();
}

export function onLocaleChange(listener: () => void): void {
  listeners.add(listener);
}

/** A name in the current language (English falls back to the Chinese one). */
export function localName(item: { name: string; nameEn?: string | null }): string {
  return current === 'en' && item.nameEn ? item.nameEn : item.name;
}

export function shortTime(iso: string | number): string {
  const date = new Date(iso);
  return date.toLocaleString(current, {
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}
