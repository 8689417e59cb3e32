/**
 * The embedded broker (aedes) for the all-in-one start: devices sign in with their device id and
 * the secret issued at registration (checked against `sensors.secret_hash`), the service account
 * signs in with its own password, and a device may publish and subscribe only under its own id.
 * aedes speaks MQTT 3.1.1 and has no shared subscriptions, so one ingest worker serves it.
 */
import { createServer, type Server } from 'node:net';
import type { Database } from '@citygrid/db';
import { hashSecret } from '@citygrid/db';
import { Aedes, type AuthenticateError } from 'aedes';
import type { Logger } from 'pino';
import { databaseSql } from '../sql';
import { parseTopic, TOPIC_ROOT } from '../topics';

export interface EmbeddedBrokerOptions {
  database: Database;
  port: number;
  host?: string;
  logger: Logger;
  service: { username: string; password: string };
}

export interface EmbeddedBroker {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Who a connected client is: the service account or one device. */
type Identity = { role: 'service' } | { role: 'device'; deviceId: string };

const identities = new WeakMap<object, Identity>();

function authError(message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: 4 as const }) as AuthenticateError;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const sql = databaseSql(options.database);
  const log = options.logger.child({ module: 'broker' });
  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const secret = password?.toString('utf8') ?? '';
      if (!username) return done(authError('username required'), false);
      if (username === options.service.username) {
        if (secret === options.service.password) {
          identities.set(client, { role: 'service' });
          return done(null, true);
        }
        return done(authError('bad credentials'), false);
      }
      // Devices: the secret's sha256 against the registry (no plaintext secrets are stored).
      sql
        .query<{ ok: boolean }>('SELECT secret_hash = $2 AS ok FROM sensors WHERE device_id = $1', [
          username,
          hashSecret(secret),
        ])
        .then((rows) => {
          if (rows[0]?.ok !== true) return done(authError('bad credentials'), false);
          if (client.id !== username && !client.id.startsWith(`${username}:`)) {
            return done(authError('client id must be the device id'), false);
          }
          identities.set(client, { role: 'device', deviceId: username });
          done(null, true);
        })
        .catch((err: Error) => {
          log.error({ err: err.message }, 'device authentication failed');
          done(
            Object.assign(new Error('unavailable'), { returnCode: 3 as const }) as AuthenticateError,
            false,
          );
        });
    },
    authorizePublish(client, packet, callback) {
      const who = client ? identities.get(client) : { role: 'service' as const };
      if (!who) return callback(new Error('not signed in'));
      if (who.role === 'service') return callback(null);
      const topic = parseTopic(packet.topic);
      if (topic?.deviceId === who.deviceId) return callback(null);
      log.warn({ device: who.deviceId, topic: packet.topic }, 'publish refused');
      callback(new Error('a device publishes only under its own id'));
    },
    authorizeSubscribe(client, subscription, callback) {
      const who = identities.get(client);
      if (!who) return callback(new Error('not signed in'), null);
      if (who.role === 'service') return callback(null, subscription);
      if (subscription.topic.startsWith(`${TOPIC_ROOT}/${who.deviceId}/`))
        return callback(null, subscription);
      callback(new Error('a device subscribes only under its own id'), null);
    },
  });
  const server: Server = createServer(broker.handle as (socket: import('node:net').Socket) => void);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info({ port }, 'embedded MQTT broker listening');
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
