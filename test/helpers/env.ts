/** What the tests run against: real services when their URLs are set, the embedded defaults otherwise. */
export const testEnv = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  mqttUrl: process.env.MQTT_URL || undefined,
  chromium: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  ci: process.env.CI === 'true' || process.env.CI === '1',
};
