/**
 * The command-center page: top bar, KPI strip, the city map, the layer panel on the left, the case
 * queue and alarm feed on the right, drawers for a case or a sensor, and the status strip. Case,
 * alarm and worker events arrive over SSE and are applied in small batches.
 */
import type * as maplibregl from 'maplibre-gl';
import { h } from './dom';
import type { Request } from './graphql/client';
import {
  ALARM_FIELDS,
  type AlarmItem,
  acknowledgeAlarm,
  type CaseStatus,
  type CategoryItem,
  categoryList,
  districtsAndStreets,
  openAlarms,
  type QueueCase,
  type QueueFilter,
  queueCases,
  type SessionUser,
  totals,
  type WorkerPoint,
  workerPositions,
} from './graphql/operations';
import { t } from './i18n';
import { LiveBatcher } from './live/batcher';
import { type Subscription, subscribe } from './live/sse';
import { CommandMap } from './map/command-map';
import { CASE_STATUSES, OPEN_STATUSES } from './map/palette';
import { DEFAULT_LAYERS, LAYER_GROUPS, type LayerGroup } from './map/style';
import { renderAlarmFeed } from './panels/alarm-feed';
import { CaseDrawer } from './panels/case-drawer';
import { renderHeader } from './panels/header';
import { type Kpis, renderKpiStrip } from './panels/kpi-strip';
import { renderLayerPanel, section } from './panels/layers';
import { QUEUE_STATUSES, renderQueue } from './panels/queue';
import { SensorDrawer } from './panels/sensor-drawer';
import { type LoadedCounts, renderStatusBar } from './panels/status-bar';
import { renderTrend, type TrendDay } from './panels/trends';
import { currentToken } from './session';

declare global {
  interface Window {
    /** Read-only test hook: the browser tests query rendered features through it. */
    __citygrid?: { readonly map: maplibregl.Map; readonly live: LiveStats };
  }
}

/** What the live feed has done, for people reading the DOM and for the tests. */
export interface LiveStats {
  caseEvents: number;
  alarmEvents: number;
  workerEvents: number;
  batches: number;
  largestBatch: number;
}

/** Room around the city when the map frames it (the side panels lie beside the map, not over it). */
const FIT_PADDING = 24;
const QUEUE_PAGE = 200;
const OVERDUE_PAGE = 100;
const ALARM_PAGE = 200;

const CASE_CHANGED = `subscription CaseChanged { caseChanged { action case {
  id code status priority location { lon lat } category { code name nameEn } reportedAt overdue remainingMinutes currentDueAt grid { name } } } }`;
const ALARM_CHANGED = `subscription AlarmChanged { alarmChanged { ${ALARM_FIELDS} } }`;
/**
 * Worker moves in the server's batches (the latest position of each worker who moved, once a
 * second) rather than one message per move: thousands of workers would otherwise be thousands of
 * messages a second to parse on the page's main thread.
 */
const WORKERS_MOVED =
  'subscription WorkersMoved { workersMoved(everyMs: 1000) { workerId location { lon lat } onDuty at } }';

export interface CommandCenterOptions {
  root: HTMLElement;
  request: Request;
  user: SessionUser;
  onLogout: () => void;
  /** A map made ahead (`prepareCommandMap`, while signing in); otherwise the command center makes one. */
  map?: CommandMap;
}

/**
 * Makes the command center's map before there is a command center to show it: building it (its
 * style, WebGL context and first frames, a few hundred milliseconds where WebGL runs on the CPU)
 * can then overlap the sign-in request instead of following it. Hand it over through
 * `CommandCenterOptions.map`.
 */
export function prepareCommandMap(): CommandMap {
  return new CommandMap({
    container: h('div', { class: 'map', id: 'map', 'data-testid': 'map', tabindex: '0' }),
    padding: { top: FIT_PADDING, right: FIT_PADDING, bottom: FIT_PADDING, left: FIT_PADDING },
    token: currentToken,
  });
}

export class CommandCenter {
  private readonly options: CommandCenterOptions;
  private readonly headerSlot = h('div', { class: 'shell__header' });
  private readonly kpiSlot = h('div', { class: 'shell__kpis' });
  private readonly sidebarSlot = h('div', { class: 'shell__sidebar' });
  private readonly rightSlot = h('div', { class: 'shell__sidebar shell__sidebar--right' });
  private readonly statusSlot = h('div', { class: 'shell__status' });
  private readonly overlay = h('div', { class: 'map-overlay', role: 'status' });
  private readonly commandMap: CommandMap;
  private readonly caseDrawer: CaseDrawer;
  private readonly sensorDrawer: SensorDrawer;
  private readonly visibleStatuses = new Set<CaseStatus>(CASE_STATUSES);
  /**
   * Whether the user sees every case of their region. A department user sees only the cases
   * dispatched to it: its cases tiles hold those, as points at every zoom, and the city-wide
   * aggregates (the choropleth's counts, the heatmap) are neither offered nor asked for.
   */
  private readonly cityWideCases: boolean;
  private readonly offeredLayers: ReadonlySet<LayerGroup>;
  private readonly visibleLayers: Set<LayerGroup>;
  private heatDays = 7;
  private counts: LoadedCounts | null = null;
  /** From the choropleth's counts, which may come before the outlines (none for department users). */
  private cellTotals: { gridCells?: number; cases?: number } = {};
  private queue: QueueCase[] = [];
  private queueFilter: { status: CaseStatus | null; category: string | null; overdueOnly: boolean } = {
    status: null,
    category: null,
    overdueOnly: false,
  };
  private queueRequest = 0;
  private categories: CategoryItem[] = [];
  private alarms: AlarmItem[] = [];
  private kpis: Kpis = {
    reported: null,
    filed: null,
    closed: null,
    onTimeRate: null,
    activeAlarms: null,
    workersOnDuty: null,
  };
  private trend: TrendDay[] = [];
  private readonly live: LiveStats = {
    caseEvents: 0,
    alarmEvents: 0,
    workerEvents: 0,
    batches: 0,
    largestBatch: 0,
  };
  private readonly subscriptions: Subscription[] = [];
  private readonly batchers: LiveBatcher<unknown>[] = [];
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private workerPoll: ReturnType<typeof setInterval> | undefined;
  private destroyed = false;
  private setPointer: (p: { lon: number; lat: number } | null) => void = () => {};
  private readonly onKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      if (!this.caseDrawer.element.hidden) this.caseDrawer.close();
      else if (!this.sensorDrawer.element.hidden) this.sensorDrawer.close();
      else this.commandMap.closePopup();
    }
  };

  constructor(options: CommandCenterOptions) {
    this.options = options;
    this.cityWideCases = options.user.role !== 'DEPARTMENT';
    this.offeredLayers = new Set(
      (Object.keys(LAYER_GROUPS) as LayerGroup[]).filter((g) => this.cityWideCases || g !== 'heat'),
    );
    this.visibleLayers = new Set(DEFAULT_LAYERS.filter((g) => this.offeredLayers.has(g)));
    this.commandMap = options.map ?? prepareCommandMap();
    if (!this.cityWideCases) this.commandMap.showCasePointsAtEveryZoom();
    this.commandMap.setHandlers({
      onPointer: (p) => this.setPointer(p),
      onCase: (id) => this.openCase(id),
      onSensor: (id) => this.openSensor(id),
    });
    for (const group of Object.keys(LAYER_GROUPS) as LayerGroup[])
      this.commandMap.setLayerGroupVisible(group, this.visibleLayers.has(group));
    this.caseDrawer = new CaseDrawer({
      request: options.request,
      role: options.user.role,
      token: currentToken,
      onClose: () => this.render(),
      onChanged: () => {
        void this.refreshQueue();
        this.schedule('stats', 300, () => this.refreshCellCounts());
      },
      onFocus: (c) => this.commandMap.focus(c.location, c.id),
    });
    this.sensorDrawer = new SensorDrawer(options.request, () => undefined);
    options.root.replaceChildren(
      h(
        'div',
        { class: 'shell' },
        this.headerSlot,
        this.kpiSlot,
        h(
          'div',
          { class: 'shell__body' },
          this.commandMap.map.getContainer(),
          this.sidebarSlot,
          this.rightSlot,
          this.caseDrawer.element,
          this.sensorDrawer.element,
          this.overlay,
        ),
        this.statusSlot,
      ),
    );
    Object.defineProperty(window, '__citygrid', {
      value: Object.freeze({ map: this.commandMap.map, live: this.live }),
      writable: false,
      configurable: true,
    });
    document.addEventListener('keydown', this.onKey);
    this.render();
  }

  /**
   * Loads the city and draws it; resolves when the map has rendered. The panels load once the map
   * is up: their queries would otherwise compete with the map's tiles for the server, the database
   * and the page's main thread, and the map is what an operator looks at first.
   */
  async load(): Promise<void> {
    setMapState('loading');
    this.showOverlay(h('div', { class: 'spinner' }), t('map.loading'));
    const { request } = this.options;
    this.startLive();
    // The map's own data at once, before anything else: the outlines (one request for districts and
    // streets; they place the view, and with it decide which tiles to fetch) and the choropleth's
    // counts, which the map keeps and paints on the grid tiles as they arrive.
    const outlines = districtsAndStreets(request);
    const cellCounts = this.refreshCellCounts();
    cellCounts.catch(() => undefined);
    void this.refreshWorkers().catch(() => undefined);
    try {
      const { districts, streets } = await outlines;
      this.counts = { districts: districts.length, streets: streets.length, ...this.cellTotals };
      this.renderStatus();
      await Promise.all([this.commandMap.show({ districts, streets }), cellCounts]);
      await this.commandMap.idle();
      if (this.destroyed) return;
      this.overlay.hidden = true;
      setMapState('ready');
      void this.loadPanels();
    } catch (error) {
      if (this.destroyed) return;
      setMapState('error');
      console.error('citygrid: loading the map data failed', error);
      this.showOverlay(
        h('strong', {}, t('map.loadFailed')),
        (error as Error).message,
        h(
          'button',
          { type: 'button', class: 'btn btn--primary', onclick: () => void this.load() },
          t('map.retry'),
        ),
      );
    }
  }

  /** Re-renders the panels (after a language change or new data); the map and its data stay. */
  render(): void {
    if (this.destroyed) return;
    this.headerSlot.replaceChildren(
      renderHeader({ user: this.options.user, onLogout: this.options.onLogout }),
    );
    this.kpiSlot.replaceChildren(renderKpiStrip(this.kpis));
    this.sidebarSlot.replaceChildren(
      renderLayerPanel(
        {
          visibleStatuses: this.visibleStatuses,
          visibleLayers: this.visibleLayers,
          offeredLayers: this.offeredLayers,
          cellCounts: this.cityWideCases,
          heatDays: this.heatDays,
        },
        {
          onToggleStatus: (status) => {
            toggle(this.visibleStatuses, status);
            this.commandMap.setStatusFilter(this.visibleStatuses);
            this.render();
          },
          onToggleLayer: (group) => {
            this.commandMap.setLayerGroupVisible(group, toggle(this.visibleLayers, group));
            this.render();
          },
          onHeatDays: (days) => {
            this.heatDays = days;
            this.commandMap.setHeatPeriod(days);
          },
        },
        renderTrend(this.trend, 300),
      ),
    );
    this.renderRight();
    this.renderStatus();
  }

  destroy(): void {
    this.destroyed = true;
    for (const s of this.subscriptions) s.close();
    for (const b of this.batchers) b.stop();
    for (const timer of this.timers.values()) clearTimeout(timer);
    if (this.workerPoll) clearInterval(this.workerPoll);
    document.removeEventListener('keydown', this.onKey);
    this.commandMap.destroy();
    Reflect.deleteProperty(window, '__citygrid');
    delete document.documentElement.dataset.mapState;
    delete document.documentElement.dataset.live;
  }

  private renderRight(): void {
    const queue = renderQueue(
      {
        cases: this.queue,
        ...this.queueFilter,
        categories: this.categories,
        selectedId: this.caseDrawer.caseId,
      },
      {
        onStatus: (status) => {
          this.queueFilter.status = status;
          void this.refreshQueue();
        },
        onCategory: (code) => {
          this.queueFilter.category = code;
          void this.refreshQueue();
        },
        onOverdueOnly: (on) => {
          this.queueFilter.overdueOnly = on;
          void this.refreshQueue();
        },
        onOpen: (id) => this.openCase(id),
      },
    );
    const alarms = renderAlarmFeed(this.alarms, {
      canAcknowledge: this.options.user.role === 'COMMANDER',
      onAcknowledge: (id) => {
        void acknowledgeAlarm(this.options.request, id).then(() => this.refreshAlarms());
      },
      onOpenSensor: (id, location) => {
        this.commandMap.focus(location);
        this.openSensor(id);
      },
    });
    this.rightSlot.replaceChildren(
      h(
        'aside',
        { class: 'sidebar', 'data-testid': 'activity' },
        section(t('queue.title'), queue, h('span', { class: 'panel__count' }, String(this.queue.length))),
        section(t('alarms.title'), alarms),
      ),
    );
  }

  private renderStatus(): void {
    const statusBar = renderStatusBar(this.counts);
    this.setPointer = statusBar.setPointer;
    this.statusSlot.replaceChildren(statusBar.element);
  }

  private openCase(id: string): void {
    this.sensorDrawer.element.hidden = true;
    void this.caseDrawer.open(id).then(() => this.renderRight());
  }

  private openSensor(id: string): void {
    this.caseDrawer.element.hidden = true;
    void this.sensorDrawer.open(id);
  }

  private async loadPanels(): Promise<void> {
    const { request } = this.options;
    await Promise.allSettled([
      categoryList(request).then((c) => {
        this.categories = c;
      }),
      this.refreshQueue(),
      this.refreshAlarms(),
      this.refreshKpis(),
    ]);
    this.render();
    void this.loadTrend();
  }

  private async refreshQueue(): Promise<void> {
    const { status, category, overdueOnly } = this.queueFilter;
    // Only the latest filter's answer may land: an older one can arrive after it.
    const requestNumber = ++this.queueRequest;
    const filter: QueueFilter = { status: status ? [status] : [...QUEUE_STATUSES] };
    if (category) filter.categoryCodes = [category];
    const { request } = this.options;
    // The server orders newest first; the overdue page makes sure the most urgent are in the queue.
    const [overdue, recent] = await Promise.all([
      queueCases(request, { ...filter, overdue: true }, OVERDUE_PAGE),
      overdueOnly ? Promise.resolve([]) : queueCases(request, filter, QUEUE_PAGE),
    ]);
    if (requestNumber !== this.queueRequest) return;
    const byId = new Map<string, QueueCase>();
    for (const c of [...overdue, ...recent]) byId.set(c.id, c);
    this.queue = [...byId.values()];
    if (!this.destroyed) this.renderRight();
  }

  private async refreshAlarms(): Promise<void> {
    this.alarms = await openAlarms(this.options.request, ALARM_PAGE);
    this.kpis.activeAlarms = this.alarms.filter((a) => a.status === 'ACTIVE').length;
    if (!this.destroyed) this.render();
  }

  private async refreshWorkers(): Promise<void> {
    const points = await workerPositions(this.options.request);
    this.commandMap.updateWorkers(points, true);
    this.kpis.workersOnDuty = this.commandMap.onDutyWorkers;
  }

  private async refreshCellCounts(): Promise<void> {
    if (!this.cityWideCases) return;
    const token = currentToken();
    const response = await fetch('/tiles/grid_cells/stats.json', {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (!response.ok) throw new Error(`/tiles/grid_cells/stats.json answered ${response.status}`);
    const { cells } = (await response.json()) as { cells: [number, number, number][] };
    this.commandMap.setCellCounts(cells);
    this.cellTotals = { gridCells: cells.length, cases: cells.reduce((n, c) => n + c[1], 0) };
    if (this.counts) {
      this.counts = { ...this.counts, ...this.cellTotals };
      this.renderStatus();
    }
  }

  private async refreshKpis(): Promise<void> {
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    try {
      const today = await totals(this.options.request, start, new Date());
      this.kpis.reported = today.reported;
      this.kpis.filed = today.filed;
      this.kpis.closed = today.closed;
      this.kpis.onTimeRate = today.due > 0 ? today.closedOnTime / today.due : null;
    } catch {
      // A role without evaluation access sees dashes.
    }
    if (!this.destroyed) this.kpiSlot.replaceChildren(renderKpiStrip(this.kpis));
  }

  private async loadTrend(): Promise<void> {
    const days: TrendDay[] = [];
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    start.setDate(start.getDate() - 29);
    const dayStarts = Array.from({ length: 30 }, (_, i) => {
      const d = new Date(start);
      d.setDate(start.getDate() + i);
      return d;
    });
    // A few days at a time: the evaluation query is not free on a big database.
    for (let i = 0; i < dayStarts.length; i += 5) {
      const chunk = dayStarts.slice(i, i + 5);
      const results = await Promise.all(
        chunk.map((from) => {
          const to = new Date(from);
          to.setDate(from.getDate() + 1);
          return totals(this.options.request, from, to).catch(() => null);
        }),
      );
      if (this.destroyed) return;
      results.forEach((r, j) => {
        if (r) days.push({ day: chunk[j]!.getTime() / 1000, reported: r.reported, closed: r.closed });
      });
    }
    this.trend = days;
    this.render();
  }

  /** Opens the live feeds once; a retried load keeps the ones it has (they reconnect by themselves). */
  private startLive(): void {
    if (this.subscriptions.length > 0) return;
    const token = currentToken;
    const cases = new LiveBatcher<{ action: string; case: QueueCase }>(
      (e) => e.case.id,
      (batch) => this.applyCaseBatch(batch),
      { intervalMs: 250, maxPerFlush: 40 },
    );
    const alarms = new LiveBatcher<AlarmItem>(
      (a) => a.id,
      (batch) => this.applyAlarmBatch(batch),
      { intervalMs: 500, maxPerFlush: 50 },
    );
    // Workers are drawn as one GeoJSON source, and every update of it costs the map a redraw
    // (hundreds of milliseconds where WebGL runs on the CPU): at most one update per flush, with
    // every worker who moved in it. The server already sends each worker once a second at most.
    const workers = new LiveBatcher<WorkerPoint>(
      (w) => w.workerId,
      (batch) => this.applyWorkerBatch(batch),
      { intervalMs: 500, maxPerFlush: Number.POSITIVE_INFINITY },
    );
    this.batchers.push(
      cases as LiveBatcher<unknown>,
      alarms as LiveBatcher<unknown>,
      workers as LiveBatcher<unknown>,
    );
    const setLive = (connected: boolean) => {
      document.documentElement.dataset.live = connected ? 'connected' : 'disconnected';
    };
    this.subscriptions.push(
      subscribe<{ caseChanged: { action: string; case: QueueCase } }>({
        query: CASE_CHANGED,
        token,
        onState: setLive,
        onData: (d) => cases.push(d.caseChanged),
        // Back after a drop or a LAGGING end: what was missed is read afresh.
        onResync: () => {
          void this.refreshQueue();
          this.schedule('stats', 1500, () => this.refreshCellCounts());
          this.schedule('tiles', 1500, async () => this.commandMap.reloadCaseTiles());
        },
      }),
      subscribe<{ alarmChanged: AlarmItem }>({
        query: ALARM_CHANGED,
        token,
        onData: (d) => alarms.push(d.alarmChanged),
        onResync: () => void this.refreshAlarms(),
      }),
      subscribe<{ workersMoved: WorkerPoint[] }>({
        query: WORKERS_MOVED,
        token,
        onData: (d) => {
          for (const w of d.workersMoved) workers.push(w);
        },
        // Without the subscription on the server, poll the positions instead.
        onRefused: () => {
          this.workerPoll = setInterval(() => void this.refreshWorkers().then(() => this.render()), 15_000);
        },
      }),
    );
  }

  private applyCaseBatch(batch: { action: string; case: QueueCase }[]): void {
    this.noteBatch(batch.length);
    this.live.caseEvents += batch.length;
    this.commandMap.upsertLiveCases(batch.map((e) => e.case));
    const byId = new Map(this.queue.map((c) => [c.id, c]));
    for (const { case: c } of batch) {
      if (this.matchesQueue(c)) byId.set(c.id, c);
      else byId.delete(c.id);
      void this.caseDrawer.refreshIf(c.id);
    }
    this.queue = [...byId.values()];
    this.renderRight();
    this.schedule('stats', 1500, () => this.refreshCellCounts());
    this.schedule('kpis', 10_000, () => this.refreshKpis());
    this.schedule('tiles', 8000, async () => this.commandMap.reloadCaseTiles());
  }

  private applyAlarmBatch(batch: AlarmItem[]): void {
    this.noteBatch(batch.length);
    this.live.alarmEvents += batch.length;
    const byId = new Map(this.alarms.map((a) => [a.id, a]));
    for (const a of batch) byId.set(a.id, a);
    this.alarms = [...byId.values()]
      .filter((a) => a.status !== 'CLEARED')
      .sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
    this.kpis.activeAlarms = this.alarms.filter((a) => a.status === 'ACTIVE').length;
    this.kpiSlot.replaceChildren(renderKpiStrip(this.kpis));
    this.renderRight();
  }

  private applyWorkerBatch(batch: WorkerPoint[]): void {
    this.noteBatch(batch.length);
    this.live.workerEvents += batch.length;
    this.commandMap.updateWorkers(batch);
    const onDuty = this.commandMap.onDutyWorkers;
    if (onDuty !== this.kpis.workersOnDuty) {
      this.kpis.workersOnDuty = onDuty;
      this.kpiSlot.replaceChildren(renderKpiStrip(this.kpis));
    }
  }

  private noteBatch(size: number): void {
    this.live.batches++;
    this.live.largestBatch = Math.max(this.live.largestBatch, size);
  }

  private matchesQueue(c: QueueCase): boolean {
    const { status, category, overdueOnly } = this.queueFilter;
    if (!OPEN_STATUSES.has(c.status)) return false;
    if (status && c.status !== status) return false;
    if (category && c.category.code !== category) return false;
    if (overdueOnly && !c.overdue) return false;
    return true;
  }

  /** Runs `task` once after `ms`, however often it is asked for meanwhile. */
  private schedule(key: string, ms: number, task: () => Promise<void>): void {
    if (this.timers.has(key) || this.destroyed) return;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!this.destroyed) void task().catch(() => undefined);
      }, ms),
    );
  }

  private showOverlay(...content: (Node | string)[]): void {
    this.overlay.hidden = false;
    this.overlay.replaceChildren(h('div', { class: 'map-overlay__card' }, ...content));
  }
}

function toggle<T>(set: Set<T>, item: T): boolean {
  if (set.delete(item)) return false;
  set.add(item);
  return true;
}

function setMapState(state: 'loading' | 'ready' | 'error'): void {
  document.documentElement.dataset.mapState = state;
}
