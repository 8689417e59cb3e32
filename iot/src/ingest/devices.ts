/** Device id → sensor id and kind, cached; unknown ids are remembered briefly, then asked again. */
import type { Sql } from '../sql';

export interface DeviceInfo {
  sensorId: number;
  kind: string;
}

export class DeviceDirectory {
  private readonly known = new Map<string, DeviceInfo>();
  private readonly unknownUntil = new Map<string, number>();

  constructor(
    private readonly sql: Sql,
    /** How long an unknown id stays unknown before the table is asked again. */
    private readonly unknownTtlMs = 10_000,
  ) {}

  get(deviceId: string): DeviceInfo | undefined {
    return this.known.get(deviceId);
  }

  /** Loads every id not yet known (one query); afterwards `get` answers for them. */
  async resolve(deviceIds: Iterable<string>): Promise<void> {
    const now = Date.now();
    const missing: string[] = [];
    for (const id of new Set(deviceIds)) {
      if (this.known.has(id)) continue;
      const until = this.unknownUntil.get(id);
      if (until !== undefined && until > now) continue;
      missing.push(id);
    }
    if (missing.length === 0) return;
    const rows = await this.sql.query<{ device_id: string; id: number; kind: string }>(
      `SELECT device_id, id::float8 AS id, kind FROM sensors
       WHERE device_id IN (SELECT json_array_elements_text($1::json))`,
      [JSON.stringify(missing)],
    );
    for (const r of rows) {
      this.known.set(r.device_id, { sensorId: r.id, kind: r.kind });
      this.unknownUntil.delete(r.device_id);
    }
    for (const id of missing) if (!this.known.has(id)) this.unknownUntil.set(id, now + this.unknownTtlMs);
  }

  /** Loads the whole fleet at start, so the first batches do not each ask. */
  async preload(): Promise<number> {
    const rows = await this.sql.query<{ device_id: string; id: number; kind: string }>(
      'SELECT device_id, id::float8 AS id, kind FROM sensors',
    );
    for (const r of rows) this.known.set(r.device_id, { sensorId: r.id, kind: r.kind });
    return rows.length;
  }

  forget(deviceId: string): void {
    this.known.delete(deviceId);
    this.unknownUntil.delete(deviceId);
  }
}
