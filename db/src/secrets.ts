/**
 * Password and secret hashing shared by the seed, the server and the broker's auth hooks.
 *
 * People's passwords use argon2id (memory-hard). Device secrets and API keys are 32 random bytes
 * issued by us, so a sha256 of them is enough and keeps per-connection auth cheap.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

export function hashPassword(password: string, salt?: Uint8Array): Promise<string> {
  return hash(password, salt ? { salt } : {});
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A new random secret for a device or an API key, URL-safe. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The demo fleet's secrets are derived from the device id, so the simulator can sign in. */
export function demoDeviceSecret(deviceId: string): string {
  return createHmac('sha256', 'citygrid-demo-fleet').update(deviceId).digest('base64url');
}
