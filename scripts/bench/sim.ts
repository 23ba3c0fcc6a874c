/**
 * Prints the in-process speed of each simulator profile at its default sizes, in samples (steps)
 * per second. A benchmark, not a test: it asserts nothing.
 *   node dist/scripts/bench/sim.js [seconds per profile, default 1]
 */
import { type ProfileName, Rng, createModel, profiles } from '../../src/sim/index.js';

const seconds = Number(process.argv[2] ?? 1);
for (const name of Object.keys(profiles) as ProfileName[]) {
  const m = createModel(name, {}, 1);
  const r = new Rng(2);
  const inputs = Array.from({ length: 256 }, () => Float32Array.from({ length: m.inChannels }, () => Math.round(r.range(m.inRange[0], m.inRange[1]))));
  const out = new Float32Array(m.outChannels);
  for (const u of inputs) m.step(u, out); // warm up
  let n = 0;
  const t0 = performance.now();
  let dt = 0;
  while (dt < seconds * 1000) {
    for (const u of inputs) m.step(u, out);
    n += inputs.length;
    dt = performance.now() - t0;
  }
  const rate = n / (dt / 1000);
  const realtime = rate * m.samplePeriodNs * 1e-9;
  console.log(`${name.padEnd(17)} ${m.inChannels}->${m.outChannels}`.padEnd(28) + `${Math.round(rate).toLocaleString('en-US').padStart(12)} samples/s  (${realtime.toFixed(1)}x device real time)`);
}
