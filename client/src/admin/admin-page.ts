/**
 * The web admin area at `/admin`: plain forms over the ADMIN GraphQL fields — categories and
 * their deadlines, departments, users, alarm rules, the working calendar, Open311 keys and the
 * audit log. Each form saves one thing and reloads its section; errors show beside the form.
 */
import { h } from '../dom';
import type { Request } from '../graphql/client';

interface Category {
  id: string;
  code: string;
  name: string;
  active: boolean;
  department: { code: string } | null;
  deadlines: { priority: string; stage: string; minutes: number; workingTime: boolean }[];
}
interface Department {
  id: string;
  code: string;
  name: string;
}
interface User {
  id: string;
  username: string;
  displayName: string;
  role: string;
  regionCode: string;
  departmentCode: string | null;
  active: boolean;
}
interface AlarmRule {
  id: string;
  name: string;
  sensorKind: string;
  metric: string;
  condition: string;
  threshold: number;
  clearThreshold: number | null;
  holdSeconds: number;
  severity: string;
  enabled: boolean;
}
interface CalendarDay {
  day: string;
  name: string;
  isWorkday: boolean;
}

const STAGES = ['FILE', 'DISPATCH', 'HANDLE', 'VERIFY'] as const;
const ROLES = ['WORKER', 'COMMANDER', 'DEPARTMENT', 'SUPERVISOR', 'ADMIN'] as const;

function field(label: string, input: HTMLElement): HTMLElement {
  return h('label', { class: 'admin-field' }, h('span', {}, label), input);
}

function input(
  name: string,
  attrs: Record<string, string | number | boolean | undefined> = {},
): HTMLInputElement {
  return h('input', { name, ...attrs });
}

function select(name: string, options: readonly string[], labels?: readonly string[]): HTMLSelectElement {
  return h('select', { name }, ...options.map((o, i) => h('option', { value: o }, labels?.[i] ?? o)));
}

/** A form that runs `submit` with its values, shows the error or "saved", then reloads. */
function form(
  title: string,
  controls: HTMLElement[],
  submit: (values: FormData) => Promise<void>,
  after: () => void,
): HTMLFormElement {
  const status = h('span', { class: 'admin-status', role: 'status' });
  const f = h(
    'form',
    { class: 'admin-form', 'aria-label': title },
    ...controls,
    h('button', { type: 'submit' }, title),
    status,
  );
  f.addEventListener('submit', (event) => {
    event.preventDefault();
    status.textContent = '…';
    submit(new FormData(f)).then(
      () => {
        status.textContent = 'saved';
        after();
      },
      (error: Error) => {
        status.textContent = error.message;
        status.classList.add('admin-error');
      },
    );
  });
  return f;
}

function table(headers: string[], rows: (Node | string)[][]): HTMLTableElement {
  return h(
    'table',
    { class: 'admin-table' },
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

export class AdminPage {
  private readonly sections: Record<string, HTMLElement> = {};

  constructor(
    private readonly root: HTMLElement,
    private readonly request: Request,
  ) {}

  render(): void {
    this.root.replaceChildren(
      h(
        'main',
        { class: 'admin-page' },
        h('h1', {}, 'Citygrid · 系统管理 Administration'),
        h('p', {}, h('a', { href: '/' }, '← command center')),
        ...['categories', 'departments', 'users', 'alarms', 'calendar', 'audit'].map((name) => {
          const section = h('section', { class: 'admin-section', id: `admin-${name}` });
          this.sections[name] = section;
          return section;
        }),
      ),
    );
    void this.reloadAll();
  }

  private async reloadAll(): Promise<void> {
    await Promise.all([
      this.categories(),
      this.departments(),
      this.users(),
      this.alarmRules(),
      this.calendar(new Date().getFullYear()),
      this.audit(),
    ]).catch((error: Error) => {
      this.root.prepend(
        h('p', { class: 'admin-error' }, `Only administrators can use this page: ${error.message}`),
      );
    });
  }

  private async categories(): Promise<void> {
    const { adminCategories } = await this.request<{ adminCategories: Category[] }>(
      '{ adminCategories { id code name active department { code } deadlines { priority stage minutes workingTime } } }',
    );
    const minutes = (c: Category, stage: string) => {
      const d = c.deadlines.find((x) => x.priority === 'NORMAL' && x.stage === stage);
      return d ? `${d.minutes}${d.workingTime ? ' w' : ''}` : '—';
    };
    this.sections.categories!.replaceChildren(
      h('h2', {}, '类别与时限 Categories and deadlines (NORMAL priority, minutes; w = working time)'),
      form(
        'Set deadline',
        [
          field(
            'category',
            select(
              'category',
              adminCategories.map((c) => c.id),
              adminCategories.map((c) => `${c.code} ${c.name}`),
            ),
          ),
          field('priority', select('priority', ['NORMAL', 'HIGH', 'URGENT'])),
          field('stage', select('stage', STAGES)),
          field('minutes', input('minutes', { type: 'number', min: 1, required: true })),
          field('working time', input('workingTime', { type: 'checkbox', checked: true })),
        ],
        async (v) => {
          await this.request(
            'mutation($c: ID!, $p: String!, $s: String!, $m: Int!, $w: Boolean!) { setCategoryDeadline(categoryId: $c, priority: $p, stage: $s, minutes: $m, workingTime: $w) }',
            {
              c: v.get('category'),
              p: v.get('priority'),
              s: v.get('stage'),
              m: Number(v.get('minutes')),
              w: v.has('workingTime'),
            },
          );
        },
        () => void this.categories(),
      ),
      table(
        ['code', 'name', 'department', ...STAGES, 'active'],
        adminCategories.map((c) => [
          c.code,
          c.name,
          c.department?.code ?? '—',
          ...STAGES.map((s) => minutes(c, s)),
          h(
            'button',
            {
              type: 'button',
              onclick: () =>
                void this.request(
                  'mutation($c: ID!, $a: Boolean!) { setCategoryActive(categoryId: $c, active: $a) }',
                  {
                    c: c.id,
                    a: !c.active,
                  },
                ).then(() => this.categories()),
            },
            c.active ? 'active — deactivate' : 'inactive — activate',
          ),
        ]),
      ),
    );
  }

  private async departments(): Promise<void> {
    const { departments } = await this.request<{ departments: Department[] }>(
      '{ departments { id code name } }',
    );
    this.sections.departments!.replaceChildren(
      h('h2', {}, '处置部门 Departments'),
      form(
        'Add department',
        [
          field('code', input('code', { required: true, pattern: '[a-z0-9][a-z0-9-]+' })),
          field('name', input('name', { required: true })),
          field('English name', input('nameEn', { required: true })),
        ],
        async (v) => {
          await this.request(
            'mutation($c: String!, $n: String!, $e: String!) { createDepartment(code: $c, name: $n, nameEn: $e) { id } }',
            {
              c: v.get('code'),
              n: v.get('name'),
              e: v.get('nameEn'),
            },
          );
        },
        () => void this.departments(),
      ),
      table(
        ['code', 'name'],
        departments.map((d) => [d.code, d.name]),
      ),
    );
  }

  private async users(): Promise<void> {
    const { adminUsers } = await this.request<{ adminUsers: User[] }>(
      '{ adminUsers { id username displayName role regionCode departmentCode active } }',
    );
    const created = h('p', { class: 'admin-status' });
    this.sections.users!.replaceChildren(
      h('h2', {}, '用户 Users'),
      form(
        'Add user',
        [
          field('username', input('username', { required: true })),
          field('role', select('role', ROLES)),
          field('region code', input('region', { required: true })),
          field('department code', input('department')),
          field('password (empty: generate)', input('password', { type: 'password' })),
        ],
        async (v) => {
          const { createUser } = await this.request<{ createUser: { password: string } }>(
            'mutation($u: String!, $r: String!, $g: String!, $d: String, $p: String) { createUser(username: $u, role: $r, regionCode: $g, departmentCode: $d, password: $p) { password } }',
            {
              u: v.get('username'),
              r: v.get('role'),
              g: v.get('region'),
              d: v.get('department') || null,
              p: v.get('password') || null,
            },
          );
          if (!v.get('password')) created.textContent = `password (shown once): ${createUser.password}`;
        },
        () => void this.users().then(() => this.sections.users!.append(created)),
      ),
      table(
        ['username', 'name', 'role', 'region', 'department', 'status'],
        adminUsers.map((u) => [
          u.username,
          u.displayName,
          u.role,
          u.regionCode,
          u.departmentCode ?? '—',
          h(
            'button',
            {
              type: 'button',
              onclick: () =>
                void this.request(
                  'mutation($id: ID!, $a: Boolean!) { setUserActive(userId: $id, active: $a) }',
                  {
                    id: u.id,
                    a: !u.active,
                  },
                ).then(() => this.users()),
            },
            u.active ? 'active — deactivate' : 'inactive — activate',
          ),
        ]),
      ),
    );
  }

  private async alarmRules(): Promise<void> {
    const { adminAlarmRules } = await this.request<{ adminAlarmRules: AlarmRule[] }>(
      '{ adminAlarmRules { id name sensorKind metric condition threshold clearThreshold holdSeconds severity enabled } }',
    );
    this.sections.alarms!.replaceChildren(
      h('h2', {}, '告警规则 Alarm rules'),
      ...adminAlarmRules.map((r) =>
        form(
          'Save',
          [
            h('strong', {}, `${r.name} — ${r.sensorKind}.${r.metric} ${r.condition} (${r.severity})`),
            field(
              'threshold',
              input('threshold', { type: 'number', step: 'any', value: r.threshold, required: true }),
            ),
            field('clear at', input('clear', { type: 'number', step: 'any', value: r.clearThreshold ?? '' })),
            field('hold s', input('hold', { type: 'number', min: 0, value: r.holdSeconds, required: true })),
            field('enabled', input('enabled', { type: 'checkbox', checked: r.enabled })),
          ],
          async (v) => {
            await this.request(
              'mutation($id: ID!, $t: Float!, $c: Float, $h: Int!, $e: Boolean!) { updateAlarmRule(id: $id, threshold: $t, clearThreshold: $c, holdSeconds: $h, enabled: $e) }',
              {
                id: r.id,
                t: Number(v.get('threshold')),
                c: v.get('clear') === '' ? null : Number(v.get('clear')),
                h: Number(v.get('hold')),
                e: v.has('enabled'),
              },
            );
          },
          () => {},
        ),
      ),
    );
  }

  private async calendar(year: number): Promise<void> {
    const { calendarDays } = await this.request<{ calendarDays: CalendarDay[] }>(
      'query($y: Int!) { calendarDays(year: $y) { day name isWorkday } }',
      { y: year },
    );
    this.sections.calendar!.replaceChildren(
      h('h2', {}, `工作日历 Working calendar ${year}`),
      h(
        'p',
        {},
        h('button', { type: 'button', onclick: () => void this.calendar(year - 1) }, `← ${year - 1}`),
        ' ',
        h('button', { type: 'button', onclick: () => void this.calendar(year + 1) }, `${year + 1} →`),
      ),
      form(
        'Set day',
        [
          field('day', input('day', { type: 'date', required: true })),
          field('name', input('name', { required: true })),
          field('worked (调休)', input('isWorkday', { type: 'checkbox' })),
        ],
        async (v) => {
          await this.request(
            'mutation($d: String!, $n: String!, $w: Boolean!) { setCalendarDay(day: $d, name: $n, isWorkday: $w) }',
            {
              d: v.get('day'),
              n: v.get('name'),
              w: v.has('isWorkday'),
            },
          );
        },
        () => void this.calendar(year),
      ),
      table(
        ['day', 'name', 'kind', ''],
        calendarDays.map((d) => [
          d.day,
          d.name,
          d.isWorkday ? 'working day' : 'holiday',
          h(
            'button',
            {
              type: 'button',
              onclick: () =>
                void this.request('mutation($d: String!) { removeCalendarDay(day: $d) }', { d: d.day }).then(
                  () => this.calendar(year),
                ),
            },
            'remove',
          ),
        ]),
      ),
    );
  }

  private async audit(): Promise<void> {
    const { adminAudit } = await this.request<{
      adminAudit: { action: string; target: string | null; at: string; actor: { username: string } | null }[];
    }>('{ adminAudit(limit: 50) { action target at actor { username } } }');
    this.sections.audit!.replaceChildren(
      h('h2', {}, '操作记录 Audit log (latest 50)'),
      table(
        ['at', 'who', 'action', 'target'],
        adminAudit.map((a) => [
          new Date(a.at).toLocaleString(),
          a.actor?.username ?? 'CLI',
          a.action,
          a.target ?? '',
        ]),
      ),
    );
  }
}
