/** The GraphQL operations the command center sends, with the shapes of their results. */
import type { Request } from './client';

export type Role = 'ADMIN' | 'COMMANDER' | 'DEPARTMENT' | 'WORKER' | 'SUPERVISOR';
export type CaseStatus =
  | 'REPORTED'
  | 'FILED'
  | 'DISPATCHED'
  | 'IN_PROGRESS'
  | 'RESOLVED'
  | 'CLOSED'
  | 'REJECTED';
export type CasePriority = 'NORMAL' | 'HIGH' | 'URGENT';
export type RegionLevel = 'DISTRICT' | 'STREET';

/** GeoJSON geometry as the server's `JSON` scalar returns it. */
export type Geometry = GeoJSON.Polygon | GeoJSON.MultiPolygon;

export interface SessionUser {
  id: string;
  username: string;
  displayName?: string | null;
  role: Role;
  /** The region scope (absent in sessions stored by older versions). */
  region?: { name: string; nameEn: string } | null;
}

export interface Region {
  id: string;
  code: string;
  name: string;
  nameEn: string;
  geometry: Geometry;
  centroid: { lon: number; lat: number };
}

export interface GridCell {
  id: string;
  code: string;
  name: string;
  geometry: Geometry;
}

export interface CaseSummary {
  id: string;
  code: string;
  status: CaseStatus;
  priority: CasePriority;
  location: { lon: number; lat: number };
  category: { code: string; name: string; nameEn: string };
  reportedAt: string;
}

const USER_FIELDS = 'id username displayName role region { name nameEn }';

export async function login(request: Request, username: string, password: string) {
  const data = await request<{ login: { token: string; user: SessionUser } }>(
    `mutation Login($username: String!, $password: String!) {
      login(username: $username, password: $password) { token user { ${USER_FIELDS} } }
    }`,
    { username, password },
  );
  return data.login;
}

export async function me(request: Request): Promise<SessionUser | null> {
  const data = await request<{ me: SessionUser | null }>(`query Me { me { ${USER_FIELDS} } }`);
  return data.me;
}

export async function regions(request: Request, level: RegionLevel): Promise<Region[]> {
  const data = await request<{ regions: Region[] }>(
    // The level is inlined, not a variable, so the query does not depend on the enum type's name.
    `query Regions { regions(level: ${level}) { id code name nameEn geometry centroid { lon lat } } }`,
  );
  return data.regions;
}

export async function gridCells(request: Request): Promise<GridCell[]> {
  const data = await request<{ gridCells: GridCell[] }>(
    'query GridCells { gridCells { id code name geometry } }',
  );
  return data.gridCells;
}

interface CasesPage {
  cases: {
    edges: { node: CaseSummary }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** Every case the user may see, page by page (`pageSize` per request). */
export async function allCases(request: Request, pageSize = 1000): Promise<CaseSummary[]> {
  const out: CaseSummary[] = [];
  let after: string | null = null;
  for (;;) {
    const data: CasesPage = await request<CasesPage>(
      `query Cases($first: Int!, $after: String) {
        cases(first: $first, after: $after) {
          edges { node { id code status priority location { lon lat } category { code name nameEn } reportedAt } }
          pageInfo { hasNextPage endCursor }
        }
      }`,
      { first: pageSize, after },
    );
    for (const edge of data.cases.edges) out.push(edge.node);
    const { hasNextPage, endCursor } = data.cases.pageInfo;
    if (!hasNextPage || !endCursor) return out;
    after = endCursor;
  }
}
