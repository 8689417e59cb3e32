/**
 * ~2,000 historical cases over the 90 days before `now`, each with a full event trail from a small
 * simulation of the closed loop (report → file → dispatch → accept → resolve → verify → close,
 * with rejections, duplicates, misrouted returns, rework and reopening). The case row is derived
 * from its events by one reducer, so status, version, timestamps and due dates always agree with
 * the trail. Events after `now` are never written: recent cases stop mid-loop, in every status.
 */
import { sql } from 'drizzle-orm';
import { type Executor, rows } from '../src/client';
import type { CasePriority, CaseSource, CaseStatus, DeadlineStage, RejectReason } from '../src/schema/enums';
import type { Position } from '../src/spatial';
import { addWorkingMinutes, localDateKey, localHour } from './calendar';
import { type Catalog, type CategorySpec, deadlineOf } from './catalog';
import { CENTRE } from './names';
import type { People } from './people';
import { type CellInfo, type CityMap, cellAt, pad, randomPointIn } from './places';
import { chance, gaussian, int, logNormal, pick, type Rng, uniform, weighted } from './random';

const HISTORY_DAYS = 90;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ROADS = [
  '解放路',
  '中山路',
  '锦江大道',
  '东太大道',
  '清水大道',
  '南长城路',
  '北关路',
  '环城路',
  '桃源大道',
  '金滩路',
  '民主路',
  '西门路',
  '人民路',
  '梵净山大道',
  '凤凰路',
  '川硐大道',
  '铜兴大道',
  '龙田路',
  '寨桂路',
  '茶园路',
];

export interface CaseHistorySummary {
  cases: number;
  events: number;
}

interface SimEvent {
  action: string;
  from: CaseStatus | null;
  to: CaseStatus;
  actorId: number | null;
  note: string | null;
  payload: Record<string, unknown>;
  at: Date;
}

interface SimCase {
  key: number;
  category: { id: number; spec: CategorySpec };
  priority: CasePriority;
  source: CaseSource;
  cell: CellInfo;
  location: Position;
  address: string;
  description: string;
  reporterId: number | null;
  reportedAt: Date;
  duplicateOf?: SimCase;
  events: SimEvent[];
  code?: string;
}

export async function seedCaseHistory(
  db: Executor,
  rng: Rng,
  {
    map,
    catalog,
    people,
    now,
    count,
  }: { map: CityMap; catalog: Catalog; people: People; now: Date; count: number },
): Promise<CaseHistorySummary> {
  const world = new World(rng, map, catalog, people, now);
  const duplicates = Math.round(count * 0.04);
  const primaries: SimCase[] = [];
  for (let i = 0; i < count - duplicates; i++) {
    const c = world.newCase(i);
    world.simulate(c);
    primaries.push(c);
  }
  // Duplicates: a second report of the same thing, close by and soon after, rejected as DUPLICATE.
  const originals = primaries.filter(
    (c) => c.events.every((e) => e.action !== 'REJECT') && c.reportedAt.getTime() < now.getTime() - 2 * HOUR,
  );
  const dups: SimCase[] = [];
  for (let i = 0; i < duplicates && originals.length > 0; i++) {
    const c = world.duplicateOf(primaries.length + i, pick(rng, originals));
    if (!c) continue;
    world.simulate(c);
    dups.push(c);
  }

  const all = [...primaries, ...dups].sort(
    (a, b) => a.reportedAt.getTime() - b.reportedAt.getTime() || a.key - b.key,
  );
  all.forEach((c, i) => {
    c.code = `TR${localDateKey(c.reportedAt)}${pad(i + 1, 6)}`;
  });
  const caseRows = all.map((c, ord) => ({ ...world.toRow(c), ord }));

  const inserted = await rows<{ id: number; code: string }>(
    db,
    sql`INSERT INTO cases (code, status, version, category_id, description, location, address, grid_cell_id,
                           community_id, street_id, district_id, city_id, priority, source, reporter_id,
                           department_id, assignee_id, resolver_id, reject_reason, rework_count,
                           reported_at, filed_at, dispatched_at, accepted_at, resolved_at, closed_at, rejected_at,
                           file_due_at, dispatch_due_at, handle_due_at, verify_due_at, updated_at)
        SELECT code, status::case_status, version, "categoryId", description,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326), address, "gridCellId",
               "communityId", "streetId", "districtId", "cityId", priority::case_priority, source::case_source,
               "reporterId", "departmentId", "assigneeId", "resolverId", "rejectReason"::reject_reason, "reworkCount",
               "reportedAt", "filedAt", "dispatchedAt", "acceptedAt", "resolvedAt", "closedAt", "rejectedAt",
               "fileDueAt", "dispatchDueAt", "handleDueAt", "verifyDueAt", "updatedAt"
        FROM json_to_recordset(${JSON.stringify(caseRows)}::json) AS x(
          code text, status text, version int, "categoryId" bigint, description text, lon float8, lat float8,
          address text, "gridCellId" bigint, "communityId" bigint, "streetId" bigint, "districtId" bigint,
          "cityId" bigint, priority text, source text, "reporterId" bigint, "departmentId" bigint,
          "assigneeId" bigint, "resolverId" bigint, "rejectReason" text, "reworkCount" int,
          "reportedAt" timestamptz, "filedAt" timestamptz, "dispatchedAt" timestamptz, "acceptedAt" timestamptz,
          "resolvedAt" timestamptz, "closedAt" timestamptz, "rejectedAt" timestamptz, "fileDueAt" timestamptz,
          "dispatchDueAt" timestamptz, "handleDueAt" timestamptz, "verifyDueAt" timestamptz, "updatedAt" timestamptz,
          ord int)
        ORDER BY ord
        RETURNING id::int AS id, code`,
  );
  const idByCode = new Map(inserted.map((r) => [r.code, r.id]));
  const idOf = (c: SimCase) => {
    const id = c.code ? idByCode.get(c.code) : undefined;
    if (id === undefined) throw new Error(`seedCaseHistory: case ${c.code} was not inserted`);
    return id;
  };

  const duplicateLinks = dups.map((c) => ({ id: idOf(c), dup: c.duplicateOf ? idOf(c.duplicateOf) : null }));
  await db.execute(
    sql`UPDATE cases SET duplicate_of_id = x.dup
        FROM json_to_recordset(${JSON.stringify(duplicateLinks)}::json) AS x(id bigint, dup bigint)
        WHERE cases.id = x.id`,
  );

  const eventRows = all.flatMap((c) =>
    c.events.map((e, i) => ({
      ord: 0,
      caseId: idOf(c),
      seq: i + 1,
      action: e.action,
      from: e.from,
      to: e.to,
      actorId: e.actorId,
      note: e.action === 'REJECT' && c.duplicateOf ? `与案卷${c.duplicateOf.code}重复` : e.note,
      payload:
        e.action === 'REJECT' && c.duplicateOf
          ? { ...e.payload, duplicateOfId: idOf(c.duplicateOf) }
          : e.payload,
      at: e.at.toISOString(),
    })),
  );
  eventRows.forEach((e, i) => {
    e.ord = i;
  });
  await db.execute(
    sql`INSERT INTO case_events (case_id, seq, action, from_status, to_status, actor_id, note, payload, at)
        SELECT "caseId", seq, action, "from"::case_status, "to"::case_status, "actorId", note, payload, at
        FROM json_to_recordset(${JSON.stringify(eventRows)}::json) AS x(
          "caseId" bigint, seq int, action text, "from" text, "to" text, "actorId" bigint, note text,
          payload jsonb, at timestamptz, ord int)
        ORDER BY ord`,
  );
  // Case numbers continue after the seeded ones (the server takes them from this sequence).
  await db.execute(sql`SELECT setval('case_code_seq', ${all.length}::bigint)`);
  return { cases: all.length, events: eventRows.length };
}

/** Everything the simulation draws from, and the simulation itself. */
class World {
  private readonly categories: { id: number; spec: CategorySpec }[];
  private readonly hotspots: { at: Position; weight: number }[];

  constructor(
    private readonly rng: Rng,
    private readonly map: CityMap,
    private readonly catalog: Catalog,
    private readonly people: People,
    private readonly now: Date,
  ) {
    this.categories = [...catalog.categories.values()];
    // Markets, schools, bus stations …: where reports cluster. Most are downtown.
    this.hotspots = Array.from({ length: 28 }, () => {
      const at: Position = chance(rng, 0.65)
        ? [CENTRE[0] + 0.012 * gaussian(rng), CENTRE[1] + 0.009 * gaussian(rng)]
        : [uniform(rng, 109.15, 109.23), uniform(rng, 27.69, 27.75)];
      return { at, weight: logNormal(rng, 1, 0.6) };
    });
  }

  newCase(key: number): SimCase {
    const { rng } = this;
    const source = weighted<CaseSource>(rng, [
      ['WORKER', 55],
      ['HOTLINE', 24],
      ['OPEN311', 12],
      ['COMMANDER', 9],
    ]);
    const category = weighted(
      rng,
      this.categories.map((c) => [c, c.spec.frequency] as const),
    );
    let cell: CellInfo;
    let location: Position;
    let reporterId: number | null = null;
    if (source === 'WORKER') {
      const worker = pick(rng, this.people.workers);
      cell = pick(rng, worker.cells);
      location = randomPointIn(rng, cell);
      reporterId = worker.id;
    } else {
      [cell, location] = this.somewhere();
      if (source === 'COMMANDER') reporterId = this.commanderFor(cell);
    }
    return this.makeCase(key, category, source, cell, location, reporterId, this.reportTime(source));
  }

  duplicateOf(key: number, original: SimCase): SimCase | undefined {
    const { rng } = this;
    const delay = Math.min(6 * DAY, logNormal(rng, 3 * HOUR, 1));
    const at = new Date(Math.floor((original.reportedAt.getTime() + delay) / 1000) * 1000);
    if (at.getTime() >= this.now.getTime()) return undefined;
    // Within ~25 m of the first report.
    const location: Position = [
      original.location[0] + uniform(rng, -0.00022, 0.00022),
      original.location[1] + uniform(rng, -0.0002, 0.0002),
    ];
    const cell = cellAt(this.map, location) ?? original.cell;
    const source = weighted<CaseSource>(rng, [
      ['HOTLINE', 5],
      ['OPEN311', 3],
      ['WORKER', 2],
    ]);
    const reporterId = source === 'WORKER' ? (this.people.cellWorkers.get(cell.id)?.[0] ?? null) : null;
    const c = this.makeCase(
      key,
      original.category,
      reporterId ? source : 'HOTLINE',
      cell,
      location,
      reporterId,
      at,
    );
    c.duplicateOf = original;
    return c;
  }

  private makeCase(
    key: number,
    category: { id: number; spec: CategorySpec },
    source: CaseSource,
    cell: CellInfo,
    location: Position,
    reporterId: number | null,
    reportedAt: Date,
  ): SimCase {
    const { rng } = this;
    const spec = category.spec;
    const priority: CasePriority =
      spec.priority === 'NORMAL' && chance(rng, 0.07)
        ? 'HIGH'
        : spec.priority === 'HIGH' && chance(rng, 0.1)
          ? 'URGENT'
          : spec.priority;
    const community = this.map.regions.get(cell.communityId);
    const street = this.map.regions.get(cell.streetId);
    const district = this.map.regions.get(cell.districtId);
    const road = ROADS[cell.id % ROADS.length] ?? '人民路';
    const number = int(rng, 1, 320);
    const address = `${district?.name ?? ''}${street?.name ?? ''}${community?.name ?? ''}${road}${number}号`;
    const tail =
      priority === 'URGENT'
        ? '存在安全隐患，请立即处置。'
        : pick(rng, [
            '请尽快处理。',
            '影响市民出行。',
            '群众反映强烈。',
            '已持续数日，请处理。',
            '影响市容环境。',
          ]);
    const description = `${road}${number}号附近${pick(rng, ['发现', '有', '出现'])}${spec.name}（${pick(rng, spec.keywords)}），${tail}`;
    return {
      key,
      category,
      priority,
      source,
      cell,
      location,
      address,
      description,
      reporterId,
      reportedAt,
      events: [],
    };
  }

  /** A report location: near a hotspot, or anywhere in town with downtown denser. */
  private somewhere(): [CellInfo, Position] {
    const { rng } = this;
    for (let i = 0; i < 1000; i++) {
      let p: Position;
      if (chance(rng, 0.5)) {
        const h = weighted(
          rng,
          this.hotspots.map((s) => [s, s.weight] as const),
        );
        p = [h.at[0] + 0.0016 * gaussian(rng), h.at[1] + 0.0014 * gaussian(rng)];
      } else if (chance(rng, 0.6)) {
        p = [CENTRE[0] + 0.022 * gaussian(rng), CENTRE[1] + 0.017 * gaussian(rng)];
      } else {
        p = [uniform(rng, 109.14, 109.24), uniform(rng, 27.68, 27.76)];
      }
      const cell = cellAt(this.map, p);
      if (cell) return [cell, p];
    }
    const cell = pick(rng, this.map.cells);
    return [cell, cell.inside];
  }

  /** A report time in the last 90 days: busier on working days and in office hours. */
  private reportTime(source: CaseSource): Date {
    const { rng, now } = this;
    const hourly = [1, 0.5, 0.4, 0.3, 0.3, 0.5, 1.5, 4, 8, 10, 10, 9, 5, 5, 8, 10, 9, 8, 6, 5, 4, 3, 2, 1.5];
    for (;;) {
      const at = new Date(now.getTime() - Math.floor(rng() * HISTORY_DAYS * DAY));
      const hour = localHour(at);
      const weekday = new Date(at.getTime() + 8 * HOUR).getUTCDay();
      // Grid workers report on patrol, in the daytime.
      const patrol = source !== 'WORKER' || (hour >= 8 && hour < 19);
      const weight = ((hourly[hour] ?? 1) / 10) * (weekday === 0 || weekday === 6 ? 0.6 : 1);
      if (patrol && rng() < weight) return new Date(Math.floor(at.getTime() / 1000) * 1000);
    }
  }

  private commanderFor(cell: CellInfo): number {
    return chance(this.rng, 0.8)
      ? (this.people.districtCommanders.get(cell.districtId) ?? this.people.commanderId)
      : this.people.commanderId;
  }

  /** Runs the closed loop for one case, writing its events; stops at `now`. */
  simulate(c: SimCase): void {
    const { rng } = this;
    const urgent = c.priority === 'URGENT';
    const spec = c.category.spec;
    let status: CaseStatus | null = null;
    let t = c.reportedAt;
    let stopped = false;
    const push = (
      action: string,
      to: CaseStatus,
      actorId: number | null,
      note: string | null,
      payload = {},
    ) => {
      if (stopped) return false;
      const last = c.events[c.events.length - 1];
      const at =
        last && t.getTime() <= last.at.getTime() ? new Date(last.at.getTime() + 1000 * int(rng, 1, 30)) : t;
      if (at.getTime() > this.now.getTime()) {
        stopped = true;
        return false;
      }
      t = at;
      c.events.push({ action, from: status, to, actorId, note, payload, at });
      status = to;
      return true;
    };
    /** Working-time delay for ordinary cases, wall-clock for urgent ones. */
    const after = (medianMinutes: number, sigma = 0.7, working = !urgent) => {
      const minutes = logNormal(rng, urgent ? medianMinutes / 4 : medianMinutes, sigma);
      t = working ? addWorkingMinutes(t, minutes) : new Date(t.getTime() + minutes * MINUTE);
      t = new Date(Math.ceil(t.getTime() / 1000) * 1000);
    };
    const commander = () => this.commanderFor(c.cell);

    push('REPORT', 'REPORTED', c.reporterId, null, { source: c.source });

    // The command center works around the clock, a little slower at night; some reports wait
    // for a phone call or a site check before they are filed.
    if (!urgent && chance(rng, 0.06)) after(900, 0.6, true);
    else if (!urgent && chance(rng, 0.2)) after(180, 0.8, true);
    else after(localHour(t) >= 8 && localHour(t) < 20 ? 12 : 40, 0.8, false);
    if (c.duplicateOf) {
      // The note names the first case's number, known only once all cases are numbered.
      push('REJECT', 'REJECTED', commander(), '重复上报', { reason: 'DUPLICATE' });
      return;
    }
    if (chance(rng, 0.05)) {
      const reason = weighted<RejectReason>(rng, [
        ['INVALID', 3],
        ['OUT_OF_SCOPE', 2],
      ]);
      const note = reason === 'INVALID' ? '现场核实无此问题' : '不属于城市管理范围，已告知来电人';
      push('REJECT', 'REJECTED', commander(), note, { reason });
      return;
    }
    if (!push('FILE', 'FILED', commander(), pick(rng, ['信息属实，予以立案', '经核实，立案处理']))) return;

    const handlerDepartment = spec.department;
    const workers = this.people.cellWorkers.get(c.cell.id) ?? [];
    const toGrid = spec.gridFixable === true && workers.length > 0 && chance(rng, 0.4);
    let misrouted = !toGrid && chance(rng, 0.05);
    let reopened = false;

    for (;;) {
      // Dispatch (派遣): to the grid's worker, or to a department's duty desk.
      if (!urgent && chance(rng, 0.06)) after(720, 0.6, true);
      else if (!urgent && chance(rng, 0.15)) after(120, 0.8, true);
      else after(10, 0.8, false);
      let departmentCode: string | null = null;
      let assigneeId: number | null = null;
      let handlerId: number;
      if (toGrid) {
        assigneeId = pick(rng, workers);
        handlerId = assigneeId;
      } else {
        departmentCode = misrouted
          ? pick(
              rng,
              [...this.catalog.departments.keys()].filter((d) => d !== handlerDepartment),
            )
          : handlerDepartment;
        handlerId = this.people.departmentUsers.get(departmentCode) ?? this.people.commanderId;
      }
      const departmentId = departmentCode ? (this.catalog.departments.get(departmentCode)?.id ?? null) : null;
      const target = departmentCode
        ? (this.catalog.departments.get(departmentCode)?.spec.name ?? departmentCode)
        : '责任网格员';
      if (!push('DISPATCH', 'DISPATCHED', commander(), `派遣至${target}`, { departmentId, assigneeId }))
        return;

      if (misrouted) {
        after(45);
        if (!push('RETURN', 'FILED', handlerId, '非本单位职责，申请退回')) return;
        misrouted = false;
        continue;
      }

      let rework = 0;
      for (;;) {
        if (chance(rng, 0.1)) after(360, 0.6);
        else after(rework > 0 ? 20 : 30);
        if (!push('ACCEPT', 'IN_PROGRESS', handlerId, null)) return;
        // Handling time as a share of the limit: most finish well inside it, about one in ten late.
        const share = logNormal(rng, rework > 0 ? 0.2 : 0.4, 0.65);
        const limit = deadlineOf(spec, c.priority, 'HANDLE');
        const handled = limit.workingTime
          ? addWorkingMinutes(t, share * limit.minutes)
          : new Date(t.getTime() + share * limit.minutes * MINUTE);
        t = new Date(Math.ceil(handled.getTime() / 1000) * 1000 + 60_000);
        const fixed = pick(rng, ['已处置完毕，附处置后照片', '现场已整改到位', '已修复', '已清理完毕']);
        if (!push('RESOLVE', 'RESOLVED', handlerId, fixed)) return;

        // Verifiers check on their next patrol.
        after(300, 0.8);
        const verifier = workers.find((w) => w !== handlerId) ?? commander();
        if (chance(rng, rework === 0 ? 0.07 : 0.03)) {
          if (!push('VERIFY_FAIL', 'DISPATCHED', verifier, '现场核查未处置到位，退回返工')) return;
          rework++;
          continue;
        }
        if (!push('VERIFY_PASS', 'CLOSED', verifier, '现场核查，已处置到位')) return;
        break;
      }

      if (reopened || !chance(rng, 0.012)) return;
      t = new Date(t.getTime() + uniform(rng, 1, 6) * DAY);
      if (!push('REOPEN', 'FILED', this.people.commanderId, '问题复发，重新立案')) return;
      reopened = true;
    }
  }

  /** The case row, folded from its events. */
  toRow(c: SimCase) {
    const spec = c.category.spec;
    const due = (at: Date, stage: DeadlineStage) => {
      const d = deadlineOf(spec, c.priority, stage);
      return (
        d.workingTime ? addWorkingMinutes(at, d.minutes) : new Date(at.getTime() + d.minutes * MINUTE)
      ).toISOString();
    };
    const row = {
      code: c.code,
      status: 'REPORTED' as CaseStatus,
      version: 0,
      categoryId: c.category.id,
      description: c.description,
      lon: c.location[0],
      lat: c.location[1],
      address: c.address,
      gridCellId: c.cell.id,
      communityId: c.cell.communityId,
      streetId: c.cell.streetId,
      districtId: c.cell.districtId,
      cityId: c.cell.cityId,
      priority: c.priority,
      source: c.source,
      reporterId: c.reporterId,
      departmentId: null as number | null,
      assigneeId: null as number | null,
      resolverId: null as number | null,
      rejectReason: null as string | null,
      reworkCount: 0,
      reportedAt: c.reportedAt.toISOString(),
      filedAt: null as string | null,
      dispatchedAt: null as string | null,
      acceptedAt: null as string | null,
      resolvedAt: null as string | null,
      closedAt: null as string | null,
      rejectedAt: null as string | null,
      fileDueAt: null as string | null,
      dispatchDueAt: null as string | null,
      handleDueAt: null as string | null,
      verifyDueAt: null as string | null,
      updatedAt: c.reportedAt.toISOString(),
    };
    for (const e of c.events) {
      const at = e.at.toISOString();
      row.status = e.to;
      row.version += 1;
      row.updatedAt = at;
      switch (e.action) {
        case 'REPORT':
          row.fileDueAt = due(e.at, 'FILE');
          break;
        case 'FILE':
          row.filedAt = at;
          row.dispatchDueAt = due(e.at, 'DISPATCH');
          break;
        case 'REJECT':
          row.rejectedAt = at;
          row.rejectReason = String(e.payload.reason);
          break;
        case 'DISPATCH':
          row.dispatchedAt = at;
          row.departmentId = (e.payload.departmentId as number | null) ?? null;
          row.assigneeId = (e.payload.assigneeId as number | null) ?? null;
          row.handleDueAt = due(e.at, 'HANDLE');
          break;
        case 'RETURN':
        case 'REOPEN':
          row.departmentId = null;
          row.assigneeId = null;
          row.closedAt = null;
          row.dispatchDueAt = due(e.at, 'DISPATCH');
          break;
        case 'ACCEPT':
          row.acceptedAt = at;
          break;
        case 'RESOLVE':
          row.resolvedAt = at;
          row.resolverId = e.actorId;
          row.verifyDueAt = due(e.at, 'VERIFY');
          break;
        case 'VERIFY_PASS':
          row.closedAt = at;
          break;
        case 'VERIFY_FAIL':
          row.reworkCount += 1;
          row.handleDueAt = due(e.at, 'HANDLE');
          break;
      }
    }
    return row;
  }
}
