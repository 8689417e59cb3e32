/**
 * Keeps Mosquitto's dynamic-security plugin in step with the sensor registry: one client and one
 * role per device (publish and subscribe only under `citygrid/v1/<deviceId>/`), plus the service
 * account the ingesters and the server use. Commands go to `$CONTROL/dynamic-security/v1`; the
 * plugin hashes passwords itself, so a device's client is created when its secret is known: at
 * registration, or for the demo fleet whose secrets derive from the id.
 */
import { demoDeviceSecret, hashSecret } from '@citygrid/db';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Sql } from '../sql';
import { isValidDeviceId, SHARED_GROUP, TOPIC_ROOT } from '../topics';

const CONTROL = '$CONTROL/dynamic-security/v1';
const SERVICE_ROLE = 'citygrid-service';

interface Command {
  command: string;
  [key: string]: unknown;
}
interface Response {
  command: string;
  error?: string;
  data?: unknown;
  correlationData?: string;
}

export class DynsecError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`dynamic-security ${command} failed: ${reason}`);
  }
}

const deviceRole = (deviceId: string) => `device-${deviceId}`;

export class DynsecSync {
  private waiters = new Map<string, (r: Response) => void>();
  private seq = 0;

  private constructor(
    private readonly client: MqttClient,
    private readonly logger: Logger,
  ) {
    client.on('message', (_topic, payload) => {
      try {
        const { responses } = JSON.parse(payload.toString()) as { responses: Response[] };
        for (const r of responses) {
          const key = r.correlationData;
          if (key && this.waiters.has(key)) {
            this.waiters.get(key)!(r);
            this.waiters.delete(key);
          }
        }
      } catch {
        this.logger.warn('unreadable dynamic-security response');
      }
    });
  }

  /** Connects as the plugin's admin user. */
  static async connect(options: {
    url: string;
    username: string;
    password: string;
    logger: Logger;
  }): Promise<DynsecSync> {
    const client = await mqtt.connectAsync(options.url, {
      protocolVersion: 5,
      username: options.username,
      password: options.password,
      clientId: `citygrid-dynsec-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      reconnectPeriod: 1000,
    });
    await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 });
    return new DynsecSync(client, options.logger.child({ module: 'dynsec' }));
  }

  /** Sends commands in one message; resolves with one response per command, in order. */
  async send(commands: Command[]): Promise<Response[]> {
    const tagged = commands.map((c) => ({ ...c, correlationData: `c${++this.seq}` }));
    const answers = tagged.map(
      (c) =>
        new Promise<Response>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.waiters.delete(c.correlationData);
            reject(new DynsecError(c.command, 'no response'));
          }, 10_000);
          this.waiters.set(c.correlationData, (r) => {
            clearTimeout(timer);
            resolve(r);
          });
        }),
    );
    await this.client.publishAsync(CONTROL, JSON.stringify({ commands: tagged }), { qos: 1 });
    return Promise.all(answers);
  }

  /** The service account: subscribes to all telemetry (shared or not) and status, publishes anywhere under the root. */
  async ensureService(username: string, password: string): Promise<void> {
    const [role] = await this.send([
      {
        command: 'createRole',
        rolename: SERVICE_ROLE,
        acls: [
          { acltype: 'subscribePattern', topic: `${TOPIC_ROOT}/#`, allow: true },
          { acltype: 'subscribePattern', topic: `$share/${SHARED_GROUP}/${TOPIC_ROOT}/#`, allow: true },
          { acltype: 'publishClientSend', topic: `${TOPIC_ROOT}/#`, allow: true },
          { acltype: 'publishClientReceive', topic: `${TOPIC_ROOT}/#`, allow: true },
        ],
      },
    ]);
    if (role?.error && !/exist/i.test(role.error)) throw new DynsecError('createRole', role.error);
    await this.upsertClient(username, password, SERVICE_ROLE);
  }

  /** Adds (or re-keys) a device: its role and its client. Idempotent. */
  async addDevice(deviceId: string, secret: string): Promise<void> {
    if (!isValidDeviceId(deviceId)) throw new DynsecError('addDevice', `invalid device id ${deviceId}`);
    const own = `${TOPIC_ROOT}/${deviceId}/#`;
    const [role] = await this.send([
      {
        command: 'createRole',
        rolename: deviceRole(deviceId),
        acls: [
          { acltype: 'publishClientSend', topic: own, allow: true },
          { acltype: 'subscribePattern', topic: own, allow: true },
        ],
      },
    ]);
    if (role?.error && !/exist/i.test(role.error)) throw new DynsecError('createRole', role.error);
    await this.upsertClient(deviceId, secret, deviceRole(deviceId));
  }

  async removeDevice(deviceId: string): Promise<void> {
    await this.send([
      { command: 'deleteClient', username: deviceId },
      { command: 'deleteRole', rolename: deviceRole(deviceId) },
    ]);
  }

  private async upsertClient(username: string, password: string, rolename: string) {
    const [created] = await this.send([
      { command: 'createClient', username, password, roles: [{ rolename }] },
    ]);
    if (!created?.error) return;
    if (!/exist/i.test(created.error)) throw new DynsecError('createClient', created.error);
    const [pw, got] = await this.send([
      { command: 'setClientPassword', username, password },
      { command: 'getClient', username },
    ]);
    if (pw?.error) throw new DynsecError('setClientPassword', pw.error);
    const roles =
      (got?.data as { client?: { roles?: { rolename: string }[] } } | undefined)?.client?.roles ?? [];
    if (roles.some((r) => r.rolename === rolename)) return;
    const [added] = await this.send([{ command: 'addClientRole', username, rolename }]);
    if (added?.error) throw new DynsecError('addClientRole', added.error);
  }

  /**
   * Adds every registered sensor whose secret is the demo fleet's derived one (the only secrets
   * that can be known again after registration). Returns how many were added.
   */
  async syncDemoFleet(sql: Sql): Promise<number> {
    const sensors = await sql.query<{ device_id: string; secret_hash: string }>(
      'SELECT device_id, secret_hash FROM sensors ORDER BY id',
    );
    let added = 0;
    for (const s of sensors) {
      const secret = demoDeviceSecret(s.device_id);
      if (hashSecret(secret) !== s.secret_hash) continue;
      await this.addDevice(s.device_id, secret);
      added++;
    }
    return added;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
