/** The process logger (pino). One is made at start-up and passed down; modules take children. */
import pino, { type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'citygrid' },
    // Never let a token or password reach the log, whatever object is logged.
    redact: ['req.headers.authorization', '*.password', '*.token', 'password', 'token'],
  });
}
