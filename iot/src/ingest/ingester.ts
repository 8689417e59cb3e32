/**
 * The ingest worker: an MQTT 5 client on the (shared) telemetry subscription that batches
 * messages by size and time window and acknowledges each QoS 1 message only after the batch
 * holding it has committed.
 *
 * Holding acks: mqtt.js's `customHandleAcks` delays the PUBACK but also stops the client reading
 * until it is answered, which shrinks batches to one message. Instead the PUBACK that mqtt.js
 * writes after delivering a message is intercepted and held, so the read loop runs on, and the
 * ingester writes it itself after COMMIT. Backpressure: above `maxUnacked` held messages the
 * client's `handleMessage` hook (which mqtt.js awaits before reading the next packet) waits, so
 * the socket stops being read and the broker stops sending.
 */
import type { Database } from '@citygrid/db';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { IotMetrics } from '../metrics';
import { SeenMarks } from '../presence';
import { RuleBook } from '../rules/apply';
import { databaseSql, type Sql } from '../sql';
import {
  parseStatus,
  parseTopic,
  Rejection,
  SHARED_TELEMETRY_FILTER,
  STATUS_FILTER,
  TELEMETRY_FILTER,
} from '../topics';
import { DeviceDirectory } from './devices';
import { LatestValues, repairLatest } from './latest';
import { createBatchStore } from './store';
import { StoredWatermarks } from './watermarks';
import { type BatchDeps, type InboundMessage, telemetryMessage, writeBatch } from './write-batch';

export interface IngesterOptions {
  database: Database;
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** A stable id gives a persistent session: what was unacknowledged at a crash is redelivered. */
  clientId?: string | undefined;
  /** Subscribe with `$share/citygrid-ingest/…` (off for brokers without shared subscriptions). */
  shared: boolean;
  batchSize: number;
  batchWindowMs: number;
  /** Batches being written at once, each on its own database connection (default 1). */
  writers?: number;
  maxUnacked: number;
  /**
   * Latest values are written coalesced at most this often (default 1000 ms), apart from the
   * batches; 0 writes them in each batch's transaction. See ./latest.ts.
   */
  latestFlushMs?: number;
  logger: Logger;
  metrics?: IotMetrics | undefined;
  /** Also follow the retained status topics (presence); default on. */
  presence?: boolean;
  /** 5 for real brokers; 4 (MQTT 3.1.1) for the embedded aedes, which does not speak 5. */
  protocolVersion?: 4 | 5;
}

interface Held {
  message: InboundMessage;
  messageId: number | undefined;
  /** The connection the message came on; an ack is only valid on that one. */
  connection: number;
}

/** A batch taken for writing, and how its write ended. */
interface TakenBatch {
  batch: Held[];
  state: 'writing' | 'committed' | 'abandoned';
}

type PacketSender = (packet: Record<string, unknown>, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

export class Ingester {
  private client: MqttClient | undefined;
  private batch: Held[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Batches being written; while all writers are busy, arriving messages join the next batch. */
  private readonly writing = new Set<Promise<void>>();
  /**
   * Batches in the order they were taken. With several writers a later batch may commit first;
   * its PUBACKs wait for the earlier ones, because a client must acknowledge QoS 1 messages in
   * the order they arrived (MQTT 5, 4.6.0-2).
   */
  private readonly ackOrder: TakenBatch[] = [];
  private connection = 0;
  /** Message ids whose PUBACK is being held, on the current connection. */
  private readonly heldIds = new Set<number>();
  private unacked = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;
  private readonly deps: BatchDeps;
  private readonly sql: Sql;
  readonly stats = { messages: 0, batches: 0, acked: 0, inserted: 0, rejected: 0, failures: 0 };

  constructor(private readonly options: IngesterOptions) {
    const sql = databaseSql(options.database);
    this.sql = sql;
    const flushMs = options.latestFlushMs ?? 1000;
    this.deps = {
      store: createBatchStore(options.database),
      devices: new DeviceDirectory(sql),
      rules: new RuleBook(sql),
      watermarks: new StoredWatermarks(sql),
      seen: new SeenMarks(),
      ...(flushMs > 0
        ? {
            latest: new LatestValues(sql, flushMs, (err) =>
              options.logger.warn({ err: err.message }, 'latest values not written; retrying'),
            ),
          }
        : {}),
      metrics: options.metrics,
    };
  }

  /** Connects and subscribes; resolves once subscribed. */
  async start(): Promise<void> {
    const { options } = this;
    await this.deps.devices.preload();
    await this.deps.rules.refresh(true);
    // Before the watermarks are seeded from them: values a killed worker had not written yet.
    // Best effort: should it fail (a deadlock with another worker's flush, say), the readings are
    // stored all the same, the sensors' next readings bring their rows up to date, and stale
    // watermarks only send stored readings through the fall-back.
    try {
      const repaired = await repairLatest(this.sql);
      if (repaired > 0) options.logger.info({ repaired }, 'latest values caught up from readings');
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, 'latest values not caught up from readings');
    }
    await this.deps.watermarks?.load();
    const persistent = options.clientId !== undefined;
    const v5 = (options.protocolVersion ?? 5) === 5;
    const client = mqtt.connect(options.url, {
      protocolVersion: v5 ? 5 : 4,
      clientId:
        options.clientId ?? `citygrid-ingest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      clean: !persistent,
      username: options.username,
      password: options.password,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(v5
        ? {
            properties: {
              ...(persistent ? { sessionExpiryInterval: 24 * 3600 } : {}),
              receiveMaximum: Math.min(options.maxUnacked, 65_535),
            },
          }
        : {}),
    });
    this.client = client;
    this.interceptAcks(client);
    client.on('connect', () => {
      this.connection++;
      this.heldIds.clear();
      options.logger.info({ connection: this.connection }, 'ingest connected');
    });
    client.on('error', (err) => options.logger.warn({ err: err.message }, 'mqtt error'));
    client.on('message', (topic, payload, packet) => this.receive(topic, payload, packet));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      client.once('error', onError);
      client.once('connect', () => {
        client.off('error', onError);
        resolve();
      });
    });
    const subs: Record<string, { qos: 1 }> = {
      [options.shared ? SHARED_TELEMETRY_FILTER : TELEMETRY_FILTER]: { qos: 1 },
    };
    if (options.presence !== false) subs[STATUS_FILTER] = { qos: 1 };
    const granted = await client.subscribeAsync(subs);
    const refused = granted.filter((g) => g.qos > 2);
    if (refused.length > 0)
      throw new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
  }

  /** Holds the PUBACK mqtt.js writes after each delivered QoS 1 message; see the module comment. */
  private interceptAcks(client: MqttClient) {
    const c = client as unknown as { _sendPacket: PacketSender; handleMessage: MqttClient['handleMessage'] };
    const original = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, ...rest) => {
      if (packet.cmd === 'puback' && this.heldIds.has(packet.messageId as number)) {
        cb?.();
        return;
      }
      original(packet, cb, ...rest);
    };
    c.handleMessage = (_packet, callback) => {
      if (this.unacked < this.options.maxUnacked || this.closed) callback();
      else this.waiting.push(() => callback());
    };
  }

  private receive(topic: string, payload: Buffer, packet: IPublishPacket) {
    const arrivedAt = Date.now();
    this.stats.messages++;
    const parsed = parseTopic(topic);
    let message: InboundMessage;
    if (!parsed) {
      message = {
        type: 'rejected',
        topic,
        deviceId: null,
        arrivedAt,
        payload,
        rejection: new Rejection('BAD_TOPIC', topic),
      };
    } else if (parsed.kind === 'status') {
      const status = parseStatus(payload);
      // An empty retained payload deletes the retained status; nothing to record.
      if (!status) {
        if (payload.byteLength > 0) {
          message = {
            type: 'rejected',
            topic,
            deviceId: parsed.deviceId,
            arrivedAt,
            payload,
            rejection: new Rejection('INVALID_PAYLOAD', 'status must be {"online": boolean}'),
          };
        } else return;
      } else message = { type: 'status', topic, deviceId: parsed.deviceId, arrivedAt, online: status.online };
    } else {
      message = telemetryMessage(topic, parsed.deviceId, payload, arrivedAt, packet.dup);
    }
    const held: Held = { message, messageId: undefined, connection: this.connection };
    if (packet.qos > 0 && packet.messageId !== undefined) {
      held.messageId = packet.messageId;
      this.heldIds.add(packet.messageId);
      this.unacked++;
      this.options.metrics?.unacked.set(this.unacked);
    }
    this.batch.push(held);
    if (this.batch.length >= this.options.batchSize) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.batchWindowMs);
  }

  /**
   * Starts writing the buffered messages unless every writer is busy: then they wait, and more
   * join them, until a writer is free. So batches grow with the load (group commit) instead of a
   * queue of small ones forming behind a slow commit.
   */
  private flush() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0 || this.writing.size >= (this.options.writers ?? 1)) return;
    const batch =
      this.batch.length > this.options.batchSize ? this.batch.splice(0, this.options.batchSize) : this.batch;
    if (batch === this.batch) this.batch = [];
    const entry: TakenBatch = { batch, state: 'writing' };
    this.ackOrder.push(entry);
    const done: Promise<void> = this.commit(entry).finally(() => {
      this.writing.delete(done);
      // What arrived meanwhile has waited a whole commit already: write it at once.
      this.flush();
    });
    this.writing.add(done);
  }

  /** Writes a batch, retrying until it commits (the messages stay unacknowledged meanwhile). */
  private async commit(entry: TakenBatch): Promise<void> {
    const { batch } = entry;
    let delay = 200;
    const started = performance.now();
    for (;;) {
      try {
        const result = await writeBatch(
          this.deps,
          batch.map((h) => h.message),
        );
        this.options.logger.debug(
          { size: batch.length, path: result.path, ms: Math.round(performance.now() - started) },
          'batch committed',
        );
        this.stats.batches++;
        this.stats.inserted += result.inserted;
        this.stats.rejected += result.rejected;
        break;
      } catch (err) {
        this.stats.failures++;
        this.options.logger.error(
          { err: (err as Error).message, size: batch.length },
          'batch failed; retrying',
        );
        if (this.closed) {
          entry.state = 'abandoned';
          this.releaseAcks();
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
    entry.state = 'committed';
    this.releaseAcks();
  }

  /** Acknowledges committed batches from the oldest on, up to the first still being written. */
  private releaseAcks() {
    while (this.ackOrder.length > 0 && this.ackOrder[0]!.state !== 'writing') {
      const { batch, state } = this.ackOrder.shift()!;
      // An abandoned batch (given up at close) stays unacknowledged: the broker redelivers it.
      if (state === 'committed') this.acknowledge(batch);
    }
  }

  /**
   * Sends the batch's PUBACKs in one write, in the order the messages arrived. Each is the 4-byte
   * form (type, remaining length 2, packet id), which MQTT 3.1.1 and 5 both read as success (MQTT 5
   * 3.4.2.1: reason code and properties omitted); one buffer per batch rather than a packet object
   * through mqtt.js per message, which showed in the worker's profile.
   */
  private acknowledge(batch: Held[]) {
    const client = this.client;
    const acks = Buffer.allocUnsafe(batch.length * 4);
    let n = 0;
    for (const h of batch) {
      if (h.messageId === undefined) continue;
      this.unacked--;
      if (h.connection !== this.connection || !this.heldIds.delete(h.messageId)) continue;
      acks[n] = 0x40;
      acks[n + 1] = 0x02;
      acks.writeUInt16BE(h.messageId, n + 2);
      n += 4;
    }
    if (n > 0 && client?.connected) {
      client.stream.write(acks.subarray(0, n));
      this.stats.acked += n / 4;
    }
    this.options.metrics?.unacked.set(this.unacked);
    while (this.waiting.length > 0 && this.unacked < this.options.maxUnacked) this.waiting.shift()!();
  }

  /** Messages received and not yet acknowledged. */
  get pending(): number {
    return this.unacked;
  }

  /** Whether the broker connection is up (for readiness checks). */
  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /**
   * Writes the latest values of every batch committed so far (they are otherwise written within
   * `latestFlushMs`); for tests and shutdown.
   */
  async flushLatest(): Promise<void> {
    await this.deps.latest?.flush();
  }

  /** Commits what is buffered, acknowledges it, writes the latest values, then disconnects. */
  async close(): Promise<void> {
    // A batch that cannot commit now is given up unacknowledged: the broker redelivers it.
    this.closed = true;
    this.flush();
    while (this.writing.size > 0) await Promise.all(this.writing);
    for (const w of this.waiting.splice(0)) w();
    try {
      await this.flushLatest();
    } catch (err) {
      // Their readings are stored; the next start catches the latest values up from them.
      this.options.logger.error({ err: (err as Error).message }, 'latest values not written at close');
    }
    this.deps.latest?.stop();
    await this.client?.endAsync();
  }
}
