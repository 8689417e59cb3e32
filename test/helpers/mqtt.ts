/**
 * Brokers for IoT tests: with MQTT_URL set, a Mosquitto of the test's own (free port, generated
 * config, optional dynamic-security plugin) so tests may restart, fill or reconfigure it freely;
 * otherwise the embedded aedes with the platform's auth hooks.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@citygrid/db';
import { startEmbeddedBroker } from '@citygrid/iot';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import { testEnv } from './env';

export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
export const SERVICE = { username: 'citygrid-service', password: 'service-secret' };
export const DYNSEC_ADMIN = { username: 'dynsec-admin', password: 'dynsec-admin-secret' };

export interface TestBroker {
  kind: 'mosquitto' | 'aedes';
  url: string;
  port: number;
  /** MQTT version the ingester should speak (aedes: 3.1.1). */
  protocolVersion: 4 | 5;
  /** Whether `$share/…` subscriptions work. */
  shared: boolean;
  /** Whether devices must sign in (aedes always; Mosquitto with dynsec). */
  auth: boolean;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface MosquittoOptions {
  dynsec?: boolean;
  /** Extra lines for mosquitto.conf. */
  extra?: string[];
}

/** Starts a private Mosquitto; resolves once it accepts connections. */
export async function startMosquitto(
  options: MosquittoOptions = {},
): Promise<TestBroker & { process: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'citygrid-mosq-'));
  const port = await freePort();
  const lines = [
    'user root',
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'max_queued_messages 1000000',
    'max_inflight_messages 0',
    'set_tcp_nodelay true',
    'log_dest none',
    ...(options.extra ?? []),
  ];
  if (options.dynsec) {
    const file = join(dir, 'dynsec.json');
    execFileSync('mosquitto_ctrl', ['dynsec', 'init', file, DYNSEC_ADMIN.username, DYNSEC_ADMIN.password], {
      stdio: 'ignore',
    });
    lines.push('allow_anonymous false', `plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  // A failing test may never reach close(): take the broker down with the test process.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  const url = `mqtt://127.0.0.1:${port}`;
  await waitForBroker(url, options.dynsec ? DYNSEC_ADMIN : undefined);
  return {
    kind: 'mosquitto',
    url,
    port,
    protocolVersion: 5,
    shared: true,
    auth: options.dynsec ?? false,
    process: child,
    async close() {
      process.off('exit', reap);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForBroker(url: string, creds?: { username: string; password: string }) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const c = await mqtt.connectAsync(url, { ...creds, reconnectPeriod: 0, connectTimeout: 1000 });
      await c.endAsync();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The broker an IoT test runs against: its own Mosquitto when MQTT_URL is set, else aedes. */
export async function testBroker(database: Database, options: MosquittoOptions = {}): Promise<TestBroker> {
  if (testEnv.mqttUrl) return startMosquitto(options);
  const broker = await startEmbeddedBroker({
    database,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    service: SERVICE,
  });
  return {
    kind: 'aedes',
    url: broker.url,
    port: broker.port,
    protocolVersion: 4,
    shared: false,
    auth: true,
    close: broker.close,
  };
}

/** Connects a client and waits for CONNACK. */
export async function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
}
