/**
 * A fleet of simulated devices, each with its own MQTT connection signed in with its own secret,
 * a retained `online` status and a last will. Each publishes QoS 1 at a fixed interval (with
 * jitter), drops out now and then, and on return sends what it measured meanwhile as one late
 * backlog array.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { SensorKind } from '../kinds';
import { statusTopic, telemetryTopic } from '../topics';
import { type DeviceState, gaussian, mulberry32, type Rng, sample } from './models';

export interface SimDevice {
  deviceId: string;
  kind: SensorKind;
  secret: string;
}

export interface FleetOptions {
  url: string;
  devices: SimDevice[];
  /** Mean time between readings of one device. */
  intervalMs: number;
  protocolVersion?: 4 | 5;
  logger: Logger;
  seed?: number;
  /** Chance per reading that a device goes quiet (it keeps measuring and sends a backlog later). */
  dropoutChance?: number;
  /** Chance per reading that an event (alarm-worthy values for a few minutes) starts. */
  eventChance?: number;
}

export interface Fleet {
  /** Messages published and acknowledged by the broker. */
  readonly stats: { published: number; backlogs: number; dropouts: number; errors: number };
  close(): Promise<void>;
}

interface Running {
  device: SimDevice;
  client: MqttClient;
  state: DeviceState;
  rng: Rng;
  quietUntil: number;
  backlog: { ts: number; seq: number; values: Record<string, number> }[];
  seq: number;
  timer?: NodeJS.Timeout;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const stats = { published: 0, backlogs: 0, dropouts: 0, errors: 0 };
  const log = options.logger.child({ module: 'simulator' });
  const dropoutChance = options.dropoutChance ?? 0.002;
  const eventChance = options.eventChance ?? 0.0005;
  let closed = false;
  const running: Running[] = [];

  const tick = (r: Running) => {
    if (closed) return;
    const now = Date.now();
    const values = sample(r.device.kind, r.state, now, r.rng, { eventChance });
    const point = { ts: now, seq: r.seq++, values };
    if (now < r.quietUntil) {
      r.backlog.push(point);
    } else if (r.backlog.length > 0) {
      const backlog = [...r.backlog, point];
      r.backlog = [];
      stats.backlogs++;
      publish(r, JSON.stringify(backlog));
    } else {
      if (r.rng() < dropoutChance) {
        stats.dropouts++;
        r.quietUntil = now + options.intervalMs * (3 + Math.floor(r.rng() * 20));
      }
      publish(r, JSON.stringify(point));
    }
    const jitter = 1 + 0.1 * gaussian(r.rng);
    r.timer = setTimeout(() => tick(r), Math.max(50, options.intervalMs * jitter));
  };

  const publish = (r: Running, payload: string) => {
    r.client.publish(telemetryTopic(r.device.deviceId), payload, { qos: 1 }, (err) => {
      if (err) stats.errors++;
      else stats.published++;
    });
  };

  // Connect in small waves so the broker's auth hook is not flooded at start.
  for (let i = 0; i < options.devices.length; i++) {
    const device = options.devices[i]!;
    const client = mqtt.connect(options.url, {
      protocolVersion: options.protocolVersion ?? 5,
      clientId: device.deviceId,
      username: device.deviceId,
      password: device.secret,
      reconnectPeriod: 5000,
      will: {
        topic: statusTopic(device.deviceId),
        payload: Buffer.from('{"online":false}'),
        qos: 1,
        retain: true,
      },
    });
    client.on('connect', () => {
      client.publish(statusTopic(device.deviceId), '{"online":true}', { qos: 1, retain: true });
    });
    client.on('error', (err) => {
      stats.errors++;
      log.debug({ device: device.deviceId, err: err.message }, 'device connection error');
    });
    const rng = mulberry32((options.seed ?? 1) * 7919 + i);
    const r: Running = {
      device,
      client,
      state: { drift: 0, eventUntil: 0 },
      rng,
      quietUntil: 0,
      backlog: [],
      seq: 0,
    };
    running.push(r);
    // Spread the first readings over one interval.
    r.timer = setTimeout(() => tick(r), rng() * options.intervalMs);
    if (i % 50 === 49) await new Promise((res) => setTimeout(res, 20));
  }
  log.info({ devices: running.length, intervalMs: options.intervalMs }, 'device fleet started');

  return {
    stats,
    async close() {
      closed = true;
      for (const r of running) if (r.timer) clearTimeout(r.timer);
      // A clean goodbye: mark offline ourselves (the will only fires on an unclean drop).
      await Promise.all(
        running.map(async (r) => {
          if (r.client.connected) {
            // Bounded: a broker that is itself shutting down may never acknowledge it.
            await Promise.race([
              r.client
                .publishAsync(statusTopic(r.device.deviceId), '{"online":false}', { qos: 1, retain: true })
                .catch(() => {}),
              new Promise((resolve) => setTimeout(resolve, 2000).unref()),
            ]);
          }
          await r.client.endAsync(true).catch(() => {});
        }),
      );
    },
  };
}
