/**
 * Bench publisher (a child process, so it does not share a core with what it measures): QoS 1 at
 * a fixed rate over a few connections, each message one device's point with three values and
 * `ts` = its publish time (strictly increasing per device). Rate 0 means flat out with a bounded
 * window. Prints one JSON line: { sent, acked, errors, seconds, cpu } (cpu: its own CPU seconds).
 */
import mqtt from 'mqtt';

const [url, devicesArg, rateArg, secondsArg, connectionsArg, prefix = 'bq'] = process.argv.slice(2);
const devices = Number(devicesArg);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const connections = Number(connectionsArg ?? 4);
const WINDOW = 1000; // in flight per connection (mqtt.js stalls with far more)

const clients = await Promise.all(
  Array.from({ length: connections }, (_, i) =>
    mqtt.connectAsync(url!, {
      protocolVersion: 5,
      clientId: `bench-pub-${process.pid}-${i}`,
      reconnectPeriod: 0,
    }),
  ),
);
const lastTs = new Float64Array(devices);
let sent = 0;
let acked = 0;
let errors = 0;
const inflight = new Array(connections).fill(0);
let next = 0;

function publishOne(): boolean {
  const c = next % connections;
  if (inflight[c] >= WINDOW) return false;
  const d = next % devices;
  next++;
  const ts = Math.max(Date.now(), lastTs[d]! + 1);
  lastTs[d] = ts;
  const id = `${prefix}-${String(d).padStart(5, '0')}`;
  const payload = `{"ts":${ts},"values":{"pm25":${(20 + (d % 40)).toFixed(1)},"pm10":${(40 + (d % 50)).toFixed(1)},"no2":${(10 + (d % 30)).toFixed(1)}}}`;
  inflight[c]++;
  sent++;
  clients[c]!.publish(`citygrid/v1/${id}/telemetry`, payload, { qos: 1 }, (err) => {
    inflight[c]--;
    if (err) errors++;
    else acked++;
  });
  return true;
}

const started = Date.now();
const end = started + seconds * 1000;
await new Promise<void>((resolve) => {
  const tickMs = 10;
  const timer = setInterval(() => {
    const now = Date.now();
    if (now >= end) {
      clearInterval(timer);
      resolve();
      return;
    }
    const due = rate > 0 ? Math.floor(((now - started) / 1000) * rate) : Number.POSITIVE_INFINITY;
    let budget = rate > 0 ? due - sent : connections * WINDOW;
    while (budget-- > 0 && publishOne()) {}
  }, tickMs);
});
// Let the last acknowledgements arrive.
const drainUntil = Date.now() + 10_000;
while (acked + errors < sent && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
await Promise.all(clients.map((c) => c.endAsync()));
const usage = process.resourceUsage();
const cpu = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
process.stdout.write(
  `${JSON.stringify({ sent, acked, errors, seconds: (Date.now() - started) / 1000, cpu })}\n`,
);
process.exit(0);
