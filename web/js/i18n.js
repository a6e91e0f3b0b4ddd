// Every word the map shows, in one table per language: Simplified Chinese first, English second.
// Category names are data (the bureau adds families) and come from the API in both languages.

import { countyZone } from './county.js';

/** A task's statuses in workflow order, as the service names them. */
export const STATUSES = ['planned', 'in_progress', 'completed', 'verified', 'cancelled'];

/** The message tables, one per language (`zh`, `en`), keyed by message name. */
export const MESSAGES = {
  zh: {
    'app.title': '环保整治台账',
    'app.skip': '跳到列表',
    'app.skipMap': '跳过地图',
    'lang.switch': 'English',
    'map.label': '地图',
    'map.count': '地图上显示 {n} 个任务',
    'map.grouped': '地图上显示 {n} 个任务，按区域计数；点击数字可放大',
    'map.groupedAbout': '地图上显示约 {n} 个任务，按区域计数；点击数字可放大',
    'map.bubble': '{n} 个任务，点击放大',
    'map.pages': '按{what}筛选的任务无法按区域计数，改为分页列出：显示 {shown} 个，视野内共 {matched} 个。请放大地图或缩小筛选范围。',
    'map.more': '再显示 {n} 个',
    'map.why.search': '搜索',
    'map.why.township': '乡镇',
    'map.why.overdue': '逾期',
    'map.why.supervised': '督办和状态',
    'map.why.tiles': '当前条件',
    'search.label': '按编号或名称搜索',
    'search.placeholder': '搜索编号或名称',
    'search.submit': '搜索',
    'search.none': '没有找到匹配的任务',
    'search.more': '共 {n} 个匹配，仅列出前 10 个',
    'tab.filters': '筛选',
    'tab.league': '乡镇排名',
    'tab.chart': '月度完成',
    'tab.mine': '我的任务',
    'filters.family': '任务类别',
    'filters.status': '状态',
    'filters.township': '乡镇',
    'filters.all': '全部乡镇',
    'filters.overdue': '只看逾期',
    'filters.supervised': '只看督办',
    'filters.reset': '清除筛选',
    'status.planned': '未开始',
    'status.in_progress': '进行中',
    'status.completed': '已完成待核验',
    'status.verified': '已销号',
    'status.cancelled': '已取消',
    'action.start': '开始',
    'action.complete': '完成',
    'action.verify': '核验销号',
    'action.return': '退回整改',
    'action.cancel': '取消任务',
    'action.supervise': '督办',
    'action.unsupervise': '解除督办',
    'legend.title': '乡镇完成率',
    'legend.nodata': '无数据',
    'legend.unavailable': '暂无汇总数据',
    'league.caption': '各乡镇整治进度',
    'league.township': '乡镇',
    'league.tasks': '任务',
    'league.completion': '完成率',
    'league.verified': '销号率',
    'league.overdue': '逾期',
    'league.ontime': '按时率',
    'league.county': '全县',
    'league.unavailable': '暂时无法获取乡镇汇总。',
    'chart.title': '每月完成任务数',
    'chart.completed': '完成',
    'chart.verified': '销号',
    'chart.aria': '每月完成任务数柱状图，共 {total} 个',
    'chart.summary': '{where}近 {months} 个月共完成 {total} 个任务。',
    'chart.unavailable': '暂时无法获取月度统计。',
    'task.supervised': '督办',
    'task.overdue': '逾期',
    'task.progress': '进度',
    'task.township': '所属乡镇',
    'task.leadUnit': '责任单位',
    'task.dueDate': '完成期限',
    'task.planned': '计划投资',
    'task.actual': '实际投资',
    'task.target': '目标量',
    'task.contactPerson': '联系人',
    'task.contactPhone': '联系电话',
    'task.completedAt': '完成时间',
    'task.verifiedAt': '销号时间',
    'task.lastReport': '最近上报',
    'task.version': '版本',
    'task.returnReason': '退回原因',
    'task.cancelReason': '取消原因',
    'task.edit': '编辑',
    'money.wan': '{n} 万元',
    'visibility.public': '公开',
    'visibility.internal': '内部',
    'history.title': '状态记录',
    'history.empty': '暂无记录',
    'history.reason': '原因',
    'history.changed': '修改了',
    'history.kind.created': '创建',
    'history.kind.updated': '修改',
    'history.kind.reported': '上报进展',
    'history.kind.transition': '状态变更',
    'reports.title': '上报记录',
    'reports.empty': '还没有上报',
    'reports.photo': '现场照片 {n}',
    'reports.photos': '{n} 张照片',
    'actions.done': '已处理',
    'actions.confirm': '确认{action}',
    'actions.reasonRequired': '请填写原因',
    'actions.reason.return': '退回原因（乡镇会看到）',
    'actions.reason.cancel': '取消原因',
    'conflict.message': '此任务已被他人修改（现为第 {version} 版），您的修改没有保存。请查看最新内容后重新修改。',
    'conflict.current': '最新版本（第 {version} 版）',
    'conflict.reload': '载入最新版本重新编辑',
    'conflict.reloaded': '已载入最新版本，请重新填写您的修改。',
    'draw.point': '画点',
    'draw.line': '画线',
    'draw.area': '画面',
    'form.newTitle': '新建任务',
    'form.editTitle': '编辑 {code}',
    'form.geometry': '图形：{type}',
    'form.choose': '请选择',
    'form.autoTownship': '按位置自动确定',
    'form.editGeometry': '编辑图形',
    'form.save': '保存',
    'form.created': '已创建任务 {code}',
    'form.updated': '已保存修改',
    'form.nothing': '没有修改任何内容',
    'geometry.Point': '点',
    'geometry.MultiPoint': '多点',
    'geometry.LineString': '线',
    'geometry.MultiLineString': '多线',
    'geometry.Polygon': '面',
    'geometry.MultiPolygon': '多面',
    'field.geometry': '图形',
    'field.category': '任务类别',
    'field.title': '任务名称',
    'field.description': '任务描述',
    'field.lead_unit': '责任单位',
    'field.contact_person': '联系人',
    'field.contact_phone': '联系电话',
    'field.due_date': '完成期限',
    'field.planned_investment': '计划投资（万元）',
    'field.actual_investment': '实际投资（万元）',
    'field.target_quantity': '目标量',
    'field.target_unit': '目标单位',
    'field.visibility': '公开范围',
    'field.township': '所属乡镇',
    'field.supervised': '列入督办',
    'field.status': '状态',
    'field.progress': '进度',
    'mine.empty': '本乡镇暂无待办任务',
    'report.open': '上报进展',
    'report.title': '上报 {code}',
    'report.action': '上报类型',
    'report.action.start': '开始整治',
    'report.action.progress': '仅上报进展',
    'report.action.complete': '已完成',
    'report.progress': '进度（%）',
    'report.note': '情况说明',
    'report.photos': '现场照片（最多 6 张）',
    'report.send': '提交上报',
    'report.sent': '上报成功',
    'report.queued': '当前没有网络：上报已保存在本机，联网后会自动发送。',
    'report.tooManyPhotos': '最多上传 {max} 张照片',
    'report.notAPicture': '“{name}”不是可识别的照片（JPEG、PNG 或 WebP），请重新选择',
    'outbox.title': '待发送的上报（{n}）',
    'outbox.waiting': '等待发送',
    'outbox.offline': '当前离线，联网后自动发送。',
    'outbox.online': '已联网，正在发送或可点击重试。',
    'outbox.retry': '立即重试',
    'outbox.discard': '放弃此上报',
    'outbox.discardConfirm': '确定放弃这条上报吗？它将不会被发送。',
    'outbox.recent': '最近发送的上报',
    'outbox.sending': '正在发送…',
    'outbox.sent': '已发送（{time}）',
    'outbox.refused': '被拒绝',
    'outbox.do.stale': '任务在您填写后已有改动：请核对后按最新版本重新发送。',
    'outbox.do.login': '登录已过期：请重新登录，之后会自动发送。',
    'outbox.do.fix': '请按上面的原因重新填写上报，再放弃这一条。',
    'outbox.resend': '按最新版本重新发送',
    'outbox.clearSent': '清除已发送',
    'offline.title': '离线',
    'offline.copy': '离线：这是{age}保存在本机的数据。',
    'offline.mine': '离线：任务列表是{age}保存在本机的。',
    'offline.noTask': '离线时打不开这个任务：本机没有保存它。联网后再试。',
    'offline.fromList': '离线：显示“我的任务”里保存的信息。',
    'report.compressing': '正在压缩照片…',
    'logout.unsent': '还有 {n} 条上报没有发送。退出登录会把它们从本机删除。确定退出吗？',
    'legend.symbols': '任务符号',
    'legend.supervised': '红圈：督办',
    'legend.overdue': '红点：逾期',
    'legend.dashed': '虚线：未开始或进行中的河段、区域',
    'login.open': '登录',
    'login.title': '登录',
    'login.username': '用户名',
    'login.password': '密码',
    'login.submit': '登录',
    'login.logout': '退出',
    'common.cancel': '取消',
    'common.close': '关闭',
    'common.loading': '加载中…',
    'error.network': '网络连接失败，请稍后重试。',
    'error.start': '地图无法加载：',
    'export.title': '下载台账',
    'export.xlsx': 'Excel 台账',
    'export.note': '下载的是您在地图上可查看的全部任务；Excel 台账另附各乡镇汇总。',
    // Refusals, by the problem type the service names; the service's own words (English, precise
    // about which field or coordinate) follow (web/js/api.js).
    'problem.show': '{lead}（{detail}）',
    'problem.bad-request': '请求有误',
    'problem.invalid-query': '查询条件有误',
    'problem.malformed-json': '提交的内容格式有误',
    'problem.invalid-input': '填写的内容有误，请检查标出的项目',
    'problem.unauthenticated': '请先登录',
    'problem.wrong-credentials': '用户名或密码不正确',
    'problem.too-many-logins': '登录失败次数过多，请稍后再试',
    'problem.forbidden': '没有权限进行此操作',
    'problem.not-found': '找不到所请求的内容',
    'problem.method-not-allowed': '不支持此操作',
    'problem.conflict': '任务当前的状态不允许此操作',
    'problem.version-mismatch': '任务已被他人修改，请刷新后重试',
    'problem.precondition-required': '请重新打开任务后再提交',
    'problem.too-large': '提交的内容过大',
    'problem.unsupported-media-type': '不支持的文件类型',
    'problem.too-many-rows': '导出的行数过多',
    'problem.unavailable': '服务暂时不可用，请稍后重试',
    'problem.internal': '服务器出错，请稍后重试',
  },
  en: {
    'app.title': 'Remediation ledger',
    'app.skip': 'Skip to the list',
    'app.skipMap': 'Skip the map',
    'lang.switch': '中文',
    'map.label': 'Map',
    'map.count': '{n} tasks on the map',
    'map.grouped': '{n} tasks on the map, counted by area; click a number to zoom in',
    'map.groupedAbout': 'About {n} tasks on the map, counted by area; click a number to zoom in',
    'map.bubble': '{n} tasks: click to zoom in',
    'map.pages': 'Tasks filtered by {what} cannot be counted by area, so they are listed page by page: showing {shown} of {matched} in view. Zoom in or narrow the filters.',
    'map.more': 'Show {n} more',
    'map.why.search': 'search',
    'map.why.township': 'township',
    'map.why.overdue': 'overdue',
    'map.why.supervised': 'supervision and status',
    'map.why.tiles': 'these filters',
    'search.label': 'Search by code or title',
    'search.placeholder': 'Search code or title',
    'search.submit': 'Search',
    'search.none': 'No matching task',
    'search.more': '{n} matches; the first 10 are listed',
    'tab.filters': 'Filters',
    'tab.league': 'Townships',
    'tab.chart': 'By month',
    'tab.mine': 'My tasks',
    'filters.family': 'Family',
    'filters.status': 'Status',
    'filters.township': 'Township',
    'filters.all': 'All townships',
    'filters.overdue': 'Overdue only',
    'filters.supervised': 'Under supervision only',
    'filters.reset': 'Clear filters',
    'status.planned': 'Planned',
    'status.in_progress': 'In progress',
    'status.completed': 'Completed, awaiting check',
    'status.verified': 'Verified (closed)',
    'status.cancelled': 'Cancelled',
    'action.start': 'Start',
    'action.complete': 'Complete',
    'action.verify': 'Verify and close',
    'action.return': 'Return for rework',
    'action.cancel': 'Cancel task',
    'action.supervise': 'Supervise',
    'action.unsupervise': 'Lift supervision',
    'legend.title': 'Completion rate',
    'legend.nodata': 'No data',
    'legend.unavailable': 'No township figures yet',
    'league.caption': 'Progress by township',
    'league.township': 'Township',
    'league.tasks': 'Tasks',
    'league.completion': 'Completed',
    'league.verified': 'Verified',
    'league.overdue': 'Overdue',
    'league.ontime': 'On time',
    'league.county': 'County',
    'league.unavailable': 'Township figures are not available right now.',
    'chart.title': 'Tasks completed per month',
    'chart.completed': 'Completed',
    'chart.verified': 'Verified (closed)',
    'chart.aria': 'Bar chart of tasks completed per month, {total} in all',
    'chart.summary': '{where}: {total} tasks completed in the last {months} months.',
    'chart.unavailable': 'Monthly figures are not available right now.',
    'task.supervised': 'Supervised',
    'task.overdue': 'Overdue',
    'task.progress': 'Progress',
    'task.township': 'Township',
    'task.leadUnit': 'Lead unit',
    'task.dueDate': 'Due',
    'task.planned': 'Planned investment',
    'task.actual': 'Actual investment',
    'task.target': 'Target',
    'task.contactPerson': 'Contact',
    'task.contactPhone': 'Phone',
    'task.completedAt': 'Completed',
    'task.verifiedAt': 'Verified',
    'task.lastReport': 'Last report',
    'task.version': 'Version',
    'task.returnReason': 'Returned because',
    'task.cancelReason': 'Cancelled because',
    'task.edit': 'Edit',
    'money.wan': '{n} × 10k CNY',
    'visibility.public': 'Public',
    'visibility.internal': 'Internal',
    'history.title': 'History',
    'history.empty': 'Nothing recorded yet',
    'history.reason': 'Reason',
    'history.changed': 'Changed',
    'history.kind.created': 'Created',
    'history.kind.updated': 'Edited',
    'history.kind.reported': 'Progress report',
    'history.kind.transition': 'Status change',
    'reports.title': 'Reports',
    'reports.empty': 'No reports yet',
    'reports.photo': 'Site photo {n}',
    'reports.photos': '{n} photo(s)',
    'actions.done': 'Done',
    'actions.confirm': 'Confirm: {action}',
    'actions.reasonRequired': 'Please give a reason',
    'actions.reason.return': 'Reason for returning (the township will read it)',
    'actions.reason.cancel': 'Reason for cancelling',
    'conflict.message': 'Someone else changed this task (it is now at version {version}); your change was not saved. Look at the current version and make your change again.',
    'conflict.current': 'Current version (version {version})',
    'conflict.reload': 'Edit the current version',
    'conflict.reloaded': 'The current version is loaded; please make your change again.',
    'draw.point': 'Point',
    'draw.line': 'Line',
    'draw.area': 'Area',
    'form.newTitle': 'New task',
    'form.editTitle': 'Edit {code}',
    'form.geometry': 'Geometry: {type}',
    'form.choose': 'Choose…',
    'form.autoTownship': 'From the location',
    'form.editGeometry': 'Edit geometry',
    'form.save': 'Save',
    'form.created': 'Task {code} created',
    'form.updated': 'Changes saved',
    'form.nothing': 'Nothing was changed',
    'geometry.Point': 'point',
    'geometry.MultiPoint': 'points',
    'geometry.LineString': 'line',
    'geometry.MultiLineString': 'lines',
    'geometry.Polygon': 'area',
    'geometry.MultiPolygon': 'areas',
    'field.geometry': 'Geometry',
    'field.category': 'Family',
    'field.title': 'Title',
    'field.description': 'Description',
    'field.lead_unit': 'Lead unit',
    'field.contact_person': 'Contact person',
    'field.contact_phone': 'Contact phone',
    'field.due_date': 'Due date',
    'field.planned_investment': 'Planned investment (10k CNY)',
    'field.actual_investment': 'Actual investment (10k CNY)',
    'field.target_quantity': 'Target quantity',
    'field.target_unit': 'Target unit',
    'field.visibility': 'Visibility',
    'field.township': 'Township',
    'field.supervised': 'Under supervision',
    'field.status': 'Status',
    'field.progress': 'Progress',
    'mine.empty': 'No open tasks in your township',
    'report.open': 'Report progress',
    'report.title': 'Report on {code}',
    'report.action': 'Kind of report',
    'report.action.start': 'Work started',
    'report.action.progress': 'Progress only',
    'report.action.complete': 'Work completed',
    'report.progress': 'Progress (%)',
    'report.note': 'Note',
    'report.photos': 'Site photos (up to 6)',
    'report.send': 'Send report',
    'report.sent': 'Report sent',
    'report.queued': 'No network: the report is kept on this device and will be sent when the network is back.',
    'report.tooManyPhotos': 'At most {max} photos',
    'report.notAPicture': '"{name}" is not a picture this map can read (JPEG, PNG or WebP); please choose another',
    'outbox.title': 'Reports waiting to be sent ({n})',
    'outbox.waiting': 'waiting',
    'outbox.offline': 'Offline: they will be sent when the network is back.',
    'outbox.online': 'Online: sending, or press retry.',
    'outbox.retry': 'Retry now',
    'outbox.discard': 'Discard this report',
    'outbox.discardConfirm': 'Discard this report? It will not be sent.',
    'outbox.recent': 'Reports sent lately',
    'outbox.sending': 'sending…',
    'outbox.sent': 'sent ({time})',
    'outbox.refused': 'refused',
    'outbox.do.stale': 'The task changed after you wrote this: check it, then resend against the latest version.',
    'outbox.do.login': 'Your session has ended: log in again and it will be sent.',
    'outbox.do.fix': 'Write the report again as the reason above says, then discard this one.',
    'outbox.resend': 'Resend against the latest version',
    'outbox.clearSent': 'Clear sent reports',
    'offline.title': 'Offline',
    'offline.copy': 'Offline: data saved on this device {age}.',
    'offline.mine': 'Offline: the list as saved on this device {age}.',
    'offline.noTask': 'This task cannot be opened offline: it is not saved on this device. Try again online.',
    'offline.fromList': 'Offline: what "My tasks" saved of this task.',
    'report.compressing': 'Making the photos smaller…',
    'logout.unsent': '{n} report(s) have not been sent. Logging out deletes them from this device. Log out anyway?',
    'legend.symbols': 'Task symbols',
    'legend.supervised': 'red ring: under supervision',
    'legend.overdue': 'red dot: overdue',
    'legend.dashed': 'dashed: a stretch or area not started or in progress',
    'login.open': 'Log in',
    'login.title': 'Log in',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.logout': 'Log out',
    'common.cancel': 'Cancel',
    'common.close': 'Close',
    'common.loading': 'Loading…',
    'error.network': 'The network connection failed; please try again.',
    'error.start': 'The map cannot start:',
    'export.title': 'Download the ledger',
    'export.xlsx': 'Excel ledger',
    'export.note': 'Downloads hold every task you may see on the map; the Excel ledger adds the township summary.',
    'problem.show': '{lead}: {detail}',
    'problem.bad-request': 'The request is not right',
    'problem.invalid-query': 'The search or filter is not right',
    'problem.malformed-json': 'What was sent is garbled',
    'problem.invalid-input': 'Some entries need correcting; see the marked fields',
    'problem.unauthenticated': 'Please log in first',
    'problem.wrong-credentials': 'Wrong username or password',
    'problem.too-many-logins': 'Too many failed logins; please wait',
    'problem.forbidden': 'Not allowed',
    'problem.not-found': 'Not found',
    'problem.method-not-allowed': 'Not possible here',
    'problem.conflict': 'Not possible in the task\'s current state',
    'problem.version-mismatch': 'Someone else changed the task; reload it and try again',
    'problem.precondition-required': 'Please reopen the task and send again',
    'problem.too-large': 'Too large to send',
    'problem.unsupported-media-type': 'Unsupported kind of file',
    'problem.too-many-rows': 'Too many rows to export',
    'problem.unavailable': 'The service is unavailable; please try again later',
    'problem.internal': 'The server failed; please try again later',
  },
};

const LOCALES = { zh: 'zh-CN', en: 'en' };
let current = 'zh';
const listeners = [];

/**
 * The current language.
 * @returns {'zh' | 'en'}
 */
export const lang = () => current;

/**
 * The message for `key` in the current language, with {placeholders} filled in.
 * @param {string} key
 * @param {Record<string, unknown>} [vars] values of the {placeholders}
 * @param {string} [fallback] shown when no table has the key (else the key itself)
 * @returns {string}
 */
export function t(key, vars = {}, fallback) {
  let s = MESSAGES[current][key] ?? MESSAGES.zh[key] ?? fallback ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/**
 * Switches the language: the page's marked elements are filled again and listeners called.
 * @param {string} l 'zh' or 'en'; anything else is taken as 'zh'
 */
export function setLang(l) {
  const next = MESSAGES[l] ? l : 'zh';
  const changed = next !== current;
  current = next;
  document.documentElement.lang = LOCALES[current];
  if (changed) {
    applyI18n();
    for (const fn of listeners) fn(current);
  }
}

/**
 * Calls `fn` with the new language each time it changes.
 * @param {(lang: string) => void} fn
 */
export function onLangChange(fn) {
  listeners.push(fn);
}

/**
 * Fills elements marked data-i18n (text), data-i18n-placeholder and data-i18n-aria-label.
 * @param {ParentNode} [root] the whole document (and its title) unless given
 */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  if (root === document) {
    document.title = `${t('app.title')} · greenledger`;
    document.getElementById('lang-switch')?.setAttribute('lang', current === 'zh' ? 'en' : 'zh-CN');
  }
}

/** A status's name in the current language. */
export const statusName = (s) => t(`status.${s}`, {}, s);
/** A workflow action's name in the current language. */
export const actionName = (a) => t(`action.${a}`, {}, a);
/** A task family's name in the current language (the service gives both), else its code. */
export const catName = (c) => (current === 'en' ? c.name_en : c.name_zh) || c.code;

/**
 * A rate 0–1 as a percentage with one decimal; a dash when there is none.
 * @param {number | null | undefined} x
 */
export function fmtPct(x) {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(1)}%`;
}

/**
 * A calendar day (YYYY-MM-DD) as the reader's language writes it; days have no zone.
 * @param {string | null} d
 */
export function fmtDate(d) {
  if (!d) return '';
  return new Intl.DateTimeFormat(LOCALES[current], { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })
    .format(new Date(`${d}T00:00:00Z`));
}

/**
 * An instant as a date and time in the county's zone (county.js), not the device's.
 * @param {string | null} iso an RFC 3339 timestamp
 */
export function fmtDateTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(LOCALES[current], { dateStyle: 'medium', timeStyle: 'short', timeZone: countyZone() })
    .format(new Date(iso));
}

/**
 * An amount in 万元 (ten thousand yuan) as the reader's language writes it.
 * @param {number} n
 */
export function fmtMoney(n) {
  return t('money.wan', { n: new Intl.NumberFormat(LOCALES[current], { maximumFractionDigits: 2 }).format(n) });
}
