/**
 * On duty: while the toggle is on, the phone's position is shared through `updateMyPosition`,
 * throttled (at most once per 30 s, or sooner after a move of 50 m); off duty nothing is sent
 * except the one update that says so.
 */
import type { Request } from '../graphql/client';
import { type LonLat, updateMyPosition } from './api';
import { metersBetween } from './geo';

export const MIN_INTERVAL_MS = 30_000;
export const MIN_MOVE_M = 50;
const KEY = 'citygrid.field.onDuty';

export class DutyTracker {
  private watch: number | undefined;
  private last: { at: number; at_location: LonLat } | undefined;
  private latest: { location: LonLat; accuracy: number | null } | undefined;
  /** Positions sent so far (for the status line and the tests). */
  sent = 0;

  constructor(
    private readonly request: Request,
    private readonly onState: (state: { onDuty: boolean; error?: string }) => void,
  ) {}

  get onDuty(): boolean {
    return localStorage.getItem(KEY) === '1';
  }

  /** Resumes duty after a reload if it was on. */
  resume(): void {
    if (this.onDuty) this.start();
    else this.onState({ onDuty: false });
  }

  async toggle(): Promise<void> {
    if (this.onDuty) await this.stop();
    else {
      localStorage.setItem(KEY, '1');
      this.start();
    }
  }

  private start(): void {
    this.onState({ onDuty: true });
    if (this.watch !== undefined || !('geolocation' in navigator)) return;
    this.watch = navigator.geolocation.watchPosition(
      (p) => void this.onPosition({ lon: p.coords.longitude, lat: p.coords.latitude }, p.coords.accuracy),
      (error) => this.onState({ onDuty: true, error: error.message }),
      { enableHighAccuracy: true, maximumAge: 10_000 },
    );
  }

  async stop(): Promise<void> {
    localStorage.removeItem(KEY);
    if (this.watch !== undefined) navigator.geolocation.clearWatch(this.watch);
    this.watch = undefined;
    this.onState({ onDuty: false });
    if (this.latest && navigator.onLine) {
      await updateMyPosition(this.request, this.latest.location, this.latest.accuracy, false).catch(
        () => undefined,
      );
    }
    this.last = undefined;
  }

  private async onPosition(location: LonLat, accuracy: number | null): Promise<void> {
    this.latest = { location, accuracy };
    if (!this.onDuty || !navigator.onLine) return;
    const now = Date.now();
    const due =
      !this.last ||
      now - this.last.at >= MIN_INTERVAL_MS ||
      metersBetween(this.last.at_location, location) >= MIN_MOVE_M;
    if (!due) return;
    this.last = { at: now, at_location: location };
    try {
      await updateMyPosition(this.request, location, accuracy, true);
      this.sent++;
      document.documentElement.dataset.positionsSent = String(this.sent);
    } catch {
      this.last = undefined;
    }
  }
}
