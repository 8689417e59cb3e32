/**
 * Reference data of the demo city: departments, the 部件/事件 category list with deadlines, the
 * working calendar, settings, and the Open311 demo key. Plain data plus one bulk insert each.
 */
import { sql } from 'drizzle-orm';
import { type Executor, rows } from '../src/client';
import type { CasePriority, CategoryKind, DeadlineStage } from '../src/schema/enums';
import { hashSecret } from '../src/secrets';
import { HOLIDAYS } from './calendar';

export interface DepartmentSpec {
  code: string;
  name: string;
  nameEn: string;
  phone: string;
}

export const DEPARTMENTS: readonly DepartmentSpec[] = [
  {
    code: 'sanitation',
    name: '市环境卫生管理处',
    nameEn: 'Sanitation Administration',
    phone: '0856-5221101',
  },
  { code: 'roads', name: '市政道路管理处', nameEn: 'Municipal Roads Administration', phone: '0856-5221102' },
  { code: 'water', name: '市水务局', nameEn: 'Water Authority', phone: '0856-5221103' },
  { code: 'gardens', name: '园林绿化管理所', nameEn: 'Parks and Gardens Office', phone: '0856-5221104' },
  {
    code: 'enforcement',
    name: '城市管理综合执法支队',
    nameEn: 'Urban Management Law Enforcement',
    phone: '0856-5221105',
  },
  { code: 'power', name: '供电局', nameEn: 'Power Supply Bureau', phone: '0856-5221106' },
  { code: 'traffic', name: '公安交警支队', nameEn: 'Traffic Police', phone: '0856-5221107' },
  { code: 'telecom', name: '通信管线协调办', nameEn: 'Telecom Lines Office', phone: '0856-5221108' },
  { code: 'gas', name: '燃气公司', nameEn: 'Gas Company', phone: '0856-5221109' },
  { code: 'fire', name: '消防救援支队', nameEn: 'Fire and Rescue', phone: '0856-5221119' },
];

export interface CategorySpec {
  code: string;
  kind: CategoryKind;
  name: string;
  nameEn: string;
  keywords: string[];
  department: string;
  priority: CasePriority;
  /** Working minutes to handle an ordinary case (the HANDLE stage of NORMAL priority). */
  handle: number;
  /** Wall-clock minutes to handle an urgent one. */
  urgentHandle: number;
  /** How often it is reported, relative to the others (for the case history). */
  frequency: number;
  /** A grid worker may fix it himself (dispatch to the grid instead of a department). */
  gridFixable?: boolean;
}

export const MAJORS: Record<string, { kind: CategoryKind; name: string; nameEn: string }> = {
  '01': { kind: 'COMPONENT', name: '公用设施', nameEn: 'Public facilities' },
  '02': { kind: 'COMPONENT', name: '道路交通', nameEn: 'Road traffic' },
  '03': { kind: 'COMPONENT', name: '市容环境', nameEn: 'Streetscape' },
  '04': { kind: 'COMPONENT', name: '园林绿化', nameEn: 'Landscaping' },
  '11': { kind: 'EVENT', name: '市容环境', nameEn: 'City appearance' },
  '12': { kind: 'EVENT', name: '宣传广告', nameEn: 'Advertising' },
  '13': { kind: 'EVENT', name: '施工管理', nameEn: 'Construction' },
  '14': { kind: 'EVENT', name: '街面秩序', nameEn: 'Street order' },
  '15': { kind: 'EVENT', name: '突发事件', nameEn: 'Emergencies' },
};

const WORKING_DAY = 480;

/**
 * Components use majors 01–04 and events 11–15, so the two families keep apart in one code space.
 * Handling limits follow published city lists (dirty road 5 working hours, exposed rubbish one
 * working day, piled construction waste four, illegal structures fifteen).
 */
export const CATEGORIES: readonly CategorySpec[] = [
  c(
    '01-01',
    '井盖破损缺失',
    'Manhole cover damaged or missing',
    ['井盖', '窨井', '破损', '缺失', '移位'],
    'roads',
    'HIGH',
    240,
    120,
    5,
  ),
  c(
    '01-02',
    '雨水箅子破损',
    'Storm drain grate damaged',
    ['雨水箅子', '雨篦子', '排水'],
    'water',
    'NORMAL',
    WORKING_DAY,
    240,
    3,
  ),
  c(
    '01-03',
    '消防栓损坏',
    'Fire hydrant damaged',
    ['消防栓', '消火栓', '漏水'],
    'water',
    'NORMAL',
    2 * WORKING_DAY,
    240,
    1,
  ),
  c(
    '01-04',
    '路灯故障',
    'Street lamp fault',
    ['路灯', '不亮', '灯杆', '常亮'],
    'power',
    'NORMAL',
    2 * WORKING_DAY,
    240,
    6,
  ),
  c(
    '01-05',
    '电力通信箱破损',
    'Power or telecom box damaged',
    ['电箱', '配电箱', '通信箱', '交接箱'],
    'power',
    'NORMAL',
    2 * WORKING_DAY,
    240,
    2,
  ),
  c(
    '02-01',
    '交通标志牌损坏',
    'Traffic sign damaged',
    ['交通标志', '指示牌', '标牌'],
    'traffic',
    'NORMAL',
    3 * WORKING_DAY,
    480,
    2,
  ),
  c(
    '02-02',
    '护栏损坏',
    'Guardrail damaged',
    ['护栏', '隔离栏', '栏杆'],
    'roads',
    'NORMAL',
    3 * WORKING_DAY,
    480,
    2,
  ),
  c(
    '02-03',
    '公交站亭损坏',
    'Bus shelter damaged',
    ['公交站', '候车亭', '站牌'],
    'traffic',
    'NORMAL',
    3 * WORKING_DAY,
    480,
    1,
  ),
  c(
    '03-01',
    '垃圾箱破损满溢',
    'Rubbish bin damaged or overflowing',
    ['垃圾桶', '垃圾箱', '满溢', '破损'],
    'sanitation',
    'NORMAL',
    300,
    120,
    6,
    true,
  ),
  c(
    '03-02',
    '公厕设施损坏',
    'Public toilet facilities broken',
    ['公厕', '厕所', '堵塞', '损坏'],
    'sanitation',
    'NORMAL',
    WORKING_DAY,
    240,
    2,
  ),
  c(
    '03-03',
    '广告牌匾破损',
    'Shop sign or billboard damaged',
    ['广告牌', '牌匾', '招牌', '脱落'],
    'enforcement',
    'NORMAL',
    2 * WORKING_DAY,
    240,
    2,
  ),
  c(
    '04-01',
    '行道树倒伏缺损',
    'Street tree fallen or damaged',
    ['行道树', '树木', '倒伏', '断枝'],
    'gardens',
    'NORMAL',
    WORKING_DAY,
    180,
    3,
  ),
  c(
    '04-02',
    '绿地破坏',
    'Green belt damaged',
    ['绿地', '绿化带', '踩踏', '毁绿'],
    'gardens',
    'NORMAL',
    3 * WORKING_DAY,
    480,
    2,
  ),
  c(
    '11-01',
    '暴露垃圾',
    'Exposed rubbish',
    ['垃圾', '暴露垃圾', '乱扔', '堆放'],
    'sanitation',
    'NORMAL',
    WORKING_DAY,
    120,
    16,
    true,
  ),
  c(
    '11-02',
    '道路不洁',
    'Dirty road',
    ['路面', '不洁', '污渍', '油污'],
    'sanitation',
    'NORMAL',
    300,
    120,
    10,
    true,
  ),
  c(
    '11-03',
    '水域不洁',
    'Dirty water body',
    ['河道', '水面', '漂浮物', '锦江'],
    'water',
    'NORMAL',
    15 * WORKING_DAY,
    1440,
    2,
  ),
  c(
    '11-04',
    '积存渣土',
    'Piled construction waste',
    ['渣土', '建筑垃圾', '堆积'],
    'enforcement',
    'NORMAL',
    4 * WORKING_DAY,
    480,
    4,
  ),
  c(
    '11-05',
    '露天焚烧',
    'Burning in the open',
    ['焚烧', '烧垃圾', '烟雾'],
    'enforcement',
    'HIGH',
    240,
    60,
    2,
  ),
  c(
    '12-01',
    '非法小广告',
    'Illegal flyers',
    ['小广告', '牛皮癣', '张贴', '涂写'],
    'enforcement',
    'NORMAL',
    WORKING_DAY,
    240,
    9,
    true,
  ),
  c(
    '12-02',
    '违规户外广告',
    'Unauthorised outdoor advertising',
    ['户外广告', '横幅', '广告'],
    'enforcement',
    'NORMAL',
    5 * WORKING_DAY,
    480,
    2,
  ),
  c(
    '13-01',
    '占道施工',
    'Road occupied by works',
    ['施工', '占道', '围挡'],
    'roads',
    'NORMAL',
    2 * WORKING_DAY,
    240,
    3,
  ),
  c(
    '13-02',
    '道路破损',
    'Damaged road surface',
    ['坑洼', '路面破损', '塌陷', '裂缝'],
    'roads',
    'NORMAL',
    4 * WORKING_DAY,
    240,
    5,
  ),
  c(
    '13-03',
    '工地扬尘',
    'Dust from a building site',
    ['扬尘', '工地', '未覆盖'],
    'enforcement',
    'NORMAL',
    WORKING_DAY,
    240,
    3,
  ),
  c(
    '13-04',
    '违法搭建',
    'Illegal structure',
    ['违建', '搭建', '违章建筑'],
    'enforcement',
    'NORMAL',
    15 * WORKING_DAY,
    2880,
    2,
  ),
  c(
    '14-01',
    '无照游商',
    'Unlicensed street vendor',
    ['游商', '摆摊', '流动摊贩'],
    'enforcement',
    'NORMAL',
    240,
    60,
    8,
  ),
  c(
    '14-02',
    '店外经营',
    'Business spilling onto the pavement',
    ['店外经营', '出店', '占道经营'],
    'enforcement',
    'NORMAL',
    WORKING_DAY,
    120,
    7,
    true,
  ),
  c('14-03', '违章停车', 'Illegal parking', ['停车', '乱停', '占用人行道'], 'traffic', 'NORMAL', 120, 60, 9),
  c(
    '14-04',
    '共享单车乱停放',
    'Shared bikes piled up',
    ['共享单车', '单车', '乱停'],
    'enforcement',
    'NORMAL',
    WORKING_DAY,
    240,
    6,
    true,
  ),
  c('15-01', '路面塌陷', 'Road collapse', ['塌陷', '坑', '地陷'], 'roads', 'URGENT', 2 * WORKING_DAY, 240, 1),
  c(
    '15-02',
    '供水管爆裂',
    'Burst water main',
    ['爆管', '漏水', '水管'],
    'water',
    'URGENT',
    WORKING_DAY,
    180,
    1,
  ),
  c('15-03', '燃气泄漏', 'Gas leak', ['燃气', '煤气', '气味'], 'gas', 'URGENT', 240, 60, 0.5),
  c(
    '15-04',
    '下水道堵塞',
    'Blocked drain',
    ['下水道', '堵塞', '污水外溢'],
    'water',
    'NORMAL',
    WORKING_DAY,
    240,
    4,
  ),
  c('15-05', '道路积水', 'Waterlogging', ['积水', '内涝', '淹水'], 'water', 'URGENT', WORKING_DAY, 120, 2),
  c(
    '15-06',
    '烟火隐患',
    'Smoke or fire hazard',
    ['烟雾', '火情', '冒烟', '消防'],
    'fire',
    'URGENT',
    240,
    30,
    1,
  ),
];

function c(
  code: string,
  name: string,
  nameEn: string,
  keywords: string[],
  department: string,
  priority: CasePriority,
  handle: number,
  urgentHandle: number,
  frequency: number,
  gridFixable = false,
): CategorySpec {
  const kind = MAJORS[code.slice(0, 2)]?.kind ?? 'EVENT';
  return {
    code,
    kind,
    name,
    nameEn,
    keywords,
    department,
    priority,
    handle,
    urgentHandle,
    frequency,
    gridFixable,
  };
}

export interface Deadline {
  minutes: number;
  workingTime: boolean;
}

/**
 * The limit of one stage. NORMAL and HIGH count working minutes (HIGH halves the handling time);
 * URGENT counts wall-clock minutes.
 */
export function deadlineOf(category: CategorySpec, priority: CasePriority, stage: DeadlineStage): Deadline {
  if (priority === 'URGENT') {
    const minutes = { FILE: 10, DISPATCH: 10, HANDLE: category.urgentHandle, VERIFY: 60 }[stage];
    return { minutes, workingTime: false };
  }
  const high = priority === 'HIGH';
  const minutes = {
    FILE: high ? 15 : 30,
    DISPATCH: high ? 15 : 30,
    HANDLE: high ? Math.max(60, Math.round(category.handle / 2)) : category.handle,
    VERIFY: high ? 120 : 240,
  }[stage];
  return { minutes, workingTime: true };
}

export interface Catalog {
  cityId: number;
  departments: Map<string, { id: number; spec: DepartmentSpec }>;
  categories: Map<string, { id: number; spec: CategorySpec }>;
}

export async function seedCatalog(db: Executor, cityId: number): Promise<Catalog> {
  const departmentRows = await rows<{ id: number; code: string }>(
    db,
    sql`INSERT INTO departments (code, name, name_en, phone, region_id)
        SELECT code, name, "nameEn", phone, ${cityId}::bigint
        FROM json_to_recordset(${JSON.stringify(DEPARTMENTS)}::json)
          AS d(code text, name text, "nameEn" text, phone text)
        RETURNING id::int AS id, code`,
  );
  const departments = new Map(
    DEPARTMENTS.map((spec) => {
      const row = departmentRows.find((r) => r.code === spec.code);
      if (!row) throw new Error(`seedCatalog: department ${spec.code} was not inserted`);
      return [spec.code, { id: row.id, spec }];
    }),
  );

  const categoryInput = CATEGORIES.map((spec, ord) => {
    const major = MAJORS[spec.code.slice(0, 2)];
    return {
      ord,
      code: spec.code,
      kind: spec.kind,
      majorCode: spec.code.slice(0, 2),
      minorCode: spec.code.slice(3),
      name: spec.name,
      nameEn: spec.nameEn,
      majorName: major?.name ?? '',
      majorNameEn: major?.nameEn ?? '',
      keywords: spec.keywords,
      departmentId: departments.get(spec.department)?.id ?? null,
      priority: spec.priority,
    };
  });
  const categoryRows = await rows<{ id: number; code: string }>(
    db,
    sql`INSERT INTO categories (code, kind, major_code, minor_code, name, name_en, major_name, major_name_en,
                                keywords, default_department_id, default_priority)
        SELECT code, kind::category_kind, "majorCode", "minorCode", name, "nameEn", "majorName", "majorNameEn",
               ARRAY(SELECT json_array_elements_text(keywords)), "departmentId", priority::case_priority
        FROM json_to_recordset(${JSON.stringify(categoryInput)}::json)
          AS x(ord int, code text, kind text, "majorCode" text, "minorCode" text, name text, "nameEn" text,
               "majorName" text, "majorNameEn" text, keywords json, "departmentId" bigint, priority text)
        ORDER BY ord
        RETURNING id::int AS id, code`,
  );
  const categories = new Map(
    CATEGORIES.map((spec) => {
      const row = categoryRows.find((r) => r.code === spec.code);
      if (!row) throw new Error(`seedCatalog: category ${spec.code} was not inserted`);
      return [spec.code, { id: row.id, spec }];
    }),
  );

  const deadlines = [...categories.values()].flatMap(({ id, spec }) =>
    (['NORMAL', 'HIGH', 'URGENT'] as const).flatMap((priority) =>
      (['FILE', 'DISPATCH', 'HANDLE', 'VERIFY'] as const).map((stage) => ({
        categoryId: id,
        priority,
        stage,
        ...deadlineOf(spec, priority, stage),
      })),
    ),
  );
  await db.execute(
    sql`INSERT INTO category_deadlines (category_id, priority, stage, minutes, working_time)
        SELECT "categoryId", priority::case_priority, stage::deadline_stage, minutes, "workingTime"
        FROM json_to_recordset(${JSON.stringify(deadlines)}::json)
          AS x("categoryId" bigint, priority text, stage text, minutes int, "workingTime" boolean)`,
  );

  const settings = {
    duplicate_radius_m: 50,
    duplicate_window_days: 7,
    working_hours: [
      ['08:30', '12:00'],
      ['14:00', '17:30'],
    ],
    timezone: 'Asia/Shanghai',
  };
  await db.execute(
    sql`INSERT INTO settings (key, value)
        SELECT key, value FROM json_each(${JSON.stringify(settings)}::json)`,
  );
  await db.execute(
    sql`INSERT INTO calendar_days (day, name, is_workday)
        SELECT day::date, name, "isWorkday"
        FROM json_to_recordset(${JSON.stringify(HOLIDAYS)}::json) AS x(day text, name text, "isWorkday" boolean)`,
  );
  return { cityId, departments, categories };
}

/** The Open311 demo key `citygrid-demo`, stored as its sha256 like every API key. */
export async function seedApiKey(db: Executor, adminId: number): Promise<void> {
  await db.execute(
    sql`INSERT INTO api_keys (name, key_hash, created_by_id)
        VALUES ('Open311 demo key', ${hashSecret('citygrid-demo')}, ${adminId}::bigint)`,
  );
}
