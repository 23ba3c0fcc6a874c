import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceClient } from '../../src/device/index.js';
import { createModel, openSimLink, type ModelOptions } from '../../src/sim/index.js';
import {
  type CalibrationPlan, type CalibrationRecord, type PlanStep, PlanError, applyCalibration, deviceMismatches, loadPlan, matchesDevice,
  planHash, runCalibration, validatePlan,
} from '../../src/calibration/index.js';

type Overrides = Partial<ModelOptions[keyof ModelOptions]>;

async function sim(profile: string, overrides: Overrides = {}, seed = 1): Promise<DeviceClient> {
  return DeviceClient.connect(openSimLink(profile, { seed, overrides }).link);
}

function plan(steps: Partial<PlanStep>[], name = 'test'): CalibrationPlan {
  return validatePlan({ format: 'rhil-calibration-plan', version: 1, name, steps });
}

async function calibrate(profile: string, overrides: Overrides, p: CalibrationPlan, seed = 1): Promise<CalibrationRecord> {
  const dev = await sim(profile, overrides, seed);
  try {
    return await runCalibration(dev, p, { seed: 1 });
  } finally {
    await dev.close();
  }
}

function planError(raw: unknown): PlanError {
  try { validatePlan(raw); } catch (e) { assert.instance(e, PlanError); return e as PlanError; }
  throw new Error('expected a PlanError');
}

const base = { format: 'rhil-calibration-plan', version: 1, name: 'x' };

// ---- plans -----------------------------------------------------------------------------------

test('plan errors name the field and the allowed values', () => {
  let e = planError({ ...base, steps: [{ type: 'sweep' }, { type: 'wobble' }] });
  assert.is(e.field, 'steps[1].type');
  assert.match(e.message, /steps\[1\]\.type must be one of sweep, noise, latency, crosstalk, drift, got 'wobble'/);
  e = planError({ ...base, steps: [{ type: 'sweep', levels: 1 }] });
  assert.is(e.field, 'steps[0].levels');
  assert.match(e.message, /steps\[0\]\.levels must be an integer in \[2, 4096\], got 1/);
  e = planError({ ...base, steps: [{ type: 'noise', samplez: 10 }] });
  assert.is(e.field, 'steps[0].samplez');
  assert.match(e.message, /unknown field 'steps\[0\]\.samplez'; allowed: type, level, settleSamples, samples/);
  e = planError({ ...base, steps: [{ type: 'latency', pattern: 'odd' }] });
  assert.is(e.field, 'steps[0].pattern');
  assert.match(e.message, /must be one of 'even', 'all', got 'odd'/);
  e = planError({ ...base, steps: [{ type: 'sweep', from: 0.8, to: 0.2 }] });
  assert.is(e.field, 'steps[0].to');
  e = planError({ ...base, steps: [{ type: 'drift', gainLevels: [0.2, 1.5] }] });
  assert.is(e.field, 'steps[0].gainLevels[1]');
  e = planError({ ...base, steps: [{ type: 'noise' }, { type: 'noise' }] });
  assert.is(e.field, 'steps[1].type');
  assert.is(planError({ ...base, format: 'yaml', steps: [{ type: 'noise' }] }).field, 'format');
  assert.is(planError({ ...base, version: 2, steps: [{ type: 'noise' }] }).field, 'version');
  assert.is(planError({ ...base, steps: [] }).field, 'steps');
  assert.is(planError({ ...base, name: 'a b', steps: [{ type: 'noise' }] }).field, 'name');
});

test('the shipped plans load by name, defaults are filled, and the hash ignores key order and explicit defaults', async () => {
  for (const name of ['default', 'analog', 'optical', 'fpga']) {
    const p = await loadPlan(name);
    assert.is(p.name, name);
    assert.ok(p.steps.length === 5, `${name} has every step`);
  }
  const a = plan([{ type: 'noise' }]);
  assert.equal(a.steps[0], { type: 'noise', level: 0.5, settleSamples: 500, samples: 5000 });
  const b = validatePlan({ steps: [{ samples: 5000, type: 'noise' }], name: 'test', version: 1, format: 'rhil-calibration-plan' });
  assert.is(planHash(a), planHash(b));
  assert.is.not(planHash(a), planHash(plan([{ type: 'noise', samples: 5001 }])));
  try { await loadPlan('no-such-plan'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /cannot read calibration plan 'no-such-plan'/); }
});

// ---- analog ----------------------------------------------------------------------------------

/** The analog twin's DC response (the fixed point for a held drive), nominal read-out. */
function analogDc(overrides: Overrides, drive: number): Float64Array {
  const twin = createModel('analog', overrides as never, 1).twin();
  let s: Float64Array = twin.init();
  let out: Float64Array = new Float64Array(twin.outChannels);
  for (let i = 0; i < 500; i++) ({ state: s, output: out } = twin.step(s, [drive]));
  return out;
}

for (const fullScale of [1, 2]) {
  test(`analog (fullScale ${fullScale}): offset = the read-out at the reference drive (mid + o(t)), gain = the DC slope of mid g x / fullScale, within 0.5 counts and 1 %`, async () => {
    const overrides = { fullScale };
    const rec = await calibrate('analog', overrides, plan([{ type: 'sweep', levels: 9, repeats: 2, settleSamples: 100, holdSamples: 200 }]));
    const drives = [0, 512, 1024, 1536, 2048, 2559, 3071, 3583, 4095];
    assert.equal(rec.linearization![0].drive, drives);
    const dc = drives.map((d) => analogDc(overrides, d));
    const ref = analogDc(overrides, 2048);
    for (let o = 0; o < 50; o++) {
      // the expected slope: least-squares over the same drives
      const ys = dc.map((y) => y[o]);
      const mx = drives.reduce((a, b) => a + b) / drives.length, my = ys.reduce((a, b) => a + b) / ys.length;
      let sxy = 0, sxx = 0;
      drives.forEach((x, j) => { sxy += (x - mx) * (ys[j] - my); sxx += (x - mx) ** 2; });
      const g = sxy / sxx;
      assert.ok(Math.abs(rec.channels.offset![o] - ref[o]) < 0.5, `offset[${o}] ${rec.channels.offset![o]} vs ${ref[o]}`);
      assert.ok(Math.abs(rec.channels.gain![o] - g) < 0.01 * Math.abs(g) + 2e-4, `gain[${o}] ${rec.channels.gain![o]} vs ${g}`);
    }
  });
}

test('analog: the noise floor recovers the configured sigma (with 1/12 LSB^2 of rounding), within 4 % per channel', async () => {
  for (const sigma of [0.5, 2, 5]) {
    const rec = await calibrate('analog', { noiseSigma: sigma }, plan([{ type: 'noise', samples: 4000 }]));
    const expected = Math.sqrt(sigma ** 2 + 1 / 12);
    for (const s of rec.noise!.sigma) assert.ok(Math.abs(s - expected) < 0.04 * expected, `sigma ${sigma}: measured ${s}, expected ${expected}`);
    assert.ok(Math.abs(rec.noise!.meanSigma - expected) < 0.01 * expected, `sigma ${sigma}: mean ${rec.noise!.meanSigma}`);
  }
  const quiet = await calibrate('analog', { noiseSigma: 0 }, plan([{ type: 'noise', samples: 500 }]));
  assert.ok(quiet.noise!.sigma.every((s) => s === 0));
});

test('analog: latency is recovered exactly from the step and the impulse, and settling is found', async () => {
  for (const latency of [0, 3, 17]) {
    const rec = await calibrate('analog', { latencySamples: latency }, plan([{ type: 'latency', preSamples: 200, postSamples: 200, repeats: 8 }]));
    const l = rec.latency!;
    assert.is(l.latencySamples, latency);
    assert.is(l.impulseLatencySamples, latency);
    assert.ok(l.settled);
    assert.ok(l.settlingSamples! > latency && l.settlingSamples! < latency + 60, `settling ${l.settlingSamples}`);
    assert.is(l.settlingTimeNs, l.settlingSamples! * 10000);
  }
});

test('analog: drift per hour of device time: offset within 2 %, gain within 15 %', async () => {
  const overrides = { offsetDriftPerHour: 2e5, gainDriftPerHour: 1 };
  const rec = await calibrate('analog', overrides, plan([{ type: 'drift', points: 11, intervalSamples: 20000, holdSamples: 1000 }]));
  const d = rec.drift!;
  assert.ok(d.windowHours > 6e-4, `window ${d.windowHours} h`);
  assert.ok(Math.abs(d.meanOffsetPerHour - 2e5) < 0.02 * 2e5, `offset drift ${d.meanOffsetPerHour}`);
  assert.ok(d.offsetPerHour.every((v) => Math.abs(v - 2e5) < 0.02 * 2e5));
  assert.ok(Math.abs(d.gainPerHour - 1) < 0.15, `gain drift ${d.gainPerHour}`);
  const neg = await calibrate('analog', { offsetDriftPerHour: -1e5, gainDriftPerHour: 0 }, plan([{ type: 'drift', points: 6, intervalSamples: 20000 }]));
  assert.ok(Math.abs(neg.drift!.meanOffsetPerHour + 1e5) < 0.03 * 1e5, `offset drift ${neg.drift!.meanOffsetPerHour}`);
  assert.ok(Math.abs(neg.drift!.gainPerHour) < 0.3, `gain drift ${neg.drift!.gainPerHour}`);
});

test('analog: the shipped plan gives a full record; its helpers linearise the drive and normalise the response', async () => {
  const dev = await sim('analog');
  const progress: number[] = [];
  const rec = await runCalibration(dev, await loadPlan('analog'), { seed: 1, onProgress: (p) => progress.push(p.fraction) });
  assert.is(rec.format, 'rhil-calibration');
  assert.is(rec.version, 1);
  assert.equal(rec.plan, { name: 'analog', hash: planHash(await loadPlan('analog')) });
  assert.is(rec.device.model, 'sim-analog');
  assert.ok(rec.deviceTimeUs.end > rec.deviceTimeUs.start);
  assert.ok(rec.noise && rec.latency && rec.crosstalk && rec.drift && rec.sweep);
  assert.is(rec.crosstalk.matrix.length, 50);
  assert.is(rec.crosstalk.matrix[0].length, 1);
  assert.is(rec.latency.latencySamples, 0);
  assert.ok(progress.length > 10 && progress.every((f, i) => i === 0 || f >= progress[i - 1]) && progress[progress.length - 1] === 1);
  assert.equal(JSON.parse(JSON.stringify(rec)), rec, 'the record is plain JSON');

  const cal = applyCalibration(rec);
  const t = rec.linearization![0];
  for (let i = 1; i < t.linear.length; i++) assert.ok(t.linear[i] > t.linear[i - 1], 'the table is strictly increasing');
  for (const d of [0, 700, 2048, 3000, 4095]) assert.ok(Math.abs(cal.linearizeDrive(cal.delinearizeDrive([d]))[0] - d) <= 1);

  // Drive evenly spaced linear values through the inverse table: the DC response gets straighter.
  const measure = async (drives: number[]) => {
    const means: number[][] = [];
    for (const d of drives) {
      const r = await dev.process(new Array(300).fill(d));
      means.push(Array.from({ length: 50 }, (_, o) => { let s = 0; for (let k = 100; k < 300; k++) s += r.output[k * 50 + o]; return s / 200; }));
    }
    return means;
  };
  const gain = rec.channels.gain!, offset = rec.channels.offset!;
  const nonlinearity = (drives: number[], m: number[][]) => {
    // the response projected on the DC slopes (what the table linearises), against the drive:
    // largest deviation from its straight line, relative to its swing
    const g2 = gain.reduce((a, g) => a + g * g, 0);
    const ys = m.map((v) => v.reduce((a, y, o) => a + gain[o] * (y - offset[o]), 0) / g2);
    const mx = drives.reduce((a, b) => a + b) / drives.length, my = ys.reduce((a, b) => a + b) / ys.length;
    let sxy = 0, sxx = 0;
    drives.forEach((x, j) => { sxy += (x - mx) * (ys[j] - my); sxx += (x - mx) ** 2; });
    const b = sxy / sxx;
    return Math.max(...ys.map((y, j) => Math.abs(y - my - b * (drives[j] - mx)))) / (Math.max(...ys) - Math.min(...ys));
  };
  const lin = Array.from({ length: 11 }, (_, j) => t.linear[0] + ((t.linear[t.linear.length - 1] - t.linear[0]) * j) / 10);
  const raw = Array.from({ length: 11 }, (_, j) => Math.round(t.drive[0] + ((t.drive[t.drive.length - 1] - t.drive[0]) * j) / 10));
  const before = nonlinearity(raw, await measure(raw));
  const after = nonlinearity(lin, await measure(cal.linearizeDrive(lin)));
  assert.ok(after < before / 5, `nonlinearity ${before} before, ${after} after linearisation`);

  const [atRef] = await measure([rec.sweep.referenceDrive]);
  const norm = cal.normalizeResponse(atRef);
  assert.ok(norm.every((v, o) => Math.abs(v * rec.channels.gain![o]) < 1), 'the reference drive normalises to ~0');

  assert.ok(matchesDevice(rec, dev.info));
  assert.equal(deviceMismatches(rec, { ...dev.info, firmware: 'v2' }), ['firmware: record "reservoir-hil sim 0.1.0", device "v2"']);
  const other = await sim('analog', {}, 2);
  assert.not.ok(matchesDevice(rec, other.info), 'another serial');
  await other.close();
  await dev.close();
});

// ---- fpga ------------------------------------------------------------------------------------

test('fpga: noise-free (sigma exactly 0 although the fixed-point state cycles), latency exact, runs are reproducible', async () => {
  const p = await loadPlan('fpga');
  const quick = { ...p, steps: p.steps.filter((s) => s.type !== 'drift') };
  const rec = await calibrate('fpga', { latencySamples: 2 }, quick);
  assert.ok(rec.noise!.sigma.every((s) => s === 0));
  assert.ok(rec.noise!.temporalSigma.some((s) => s > 0), 'the state itself does move');
  assert.is(rec.latency!.latencySamples, 2);
  assert.is(rec.latency!.impulseLatencySamples, 2);
  assert.is(rec.channels.gain!.length, 100);
  const again = await calibrate('fpga', { latencySamples: 2 }, quick);
  assert.equal({ ...again, createdAt: '' }, { ...rec, createdAt: '' });
});

// ---- optical ---------------------------------------------------------------------------------

test('optical: latency exact with the even-pixel pattern; noise variance = shot factor x signal + read noise^2 + 1/12, within 15 %', async () => {
  const rec = await calibrate('optical', { latencySamples: 2 }, plan([
    { type: 'noise', samples: 2000 },
    { type: 'latency', preSamples: 40, postSamples: 40, repeats: 16 },
    { type: 'crosstalk', settleSamples: 3, holdSamples: 10 },
  ]));
  assert.is(rec.latency!.latencySamples, 2);
  assert.is(rec.latency!.settlingSamples, 2, 'no memory: settled as soon as the step arrives');
  assert.is(rec.crosstalk!.matrix.length, 128);
  assert.is(rec.crosstalk!.matrix[0].length, 64);
  const { sigma, mean } = rec.noise!;
  let checked = 0;
  for (let o = 0; o < 128; o++) {
    if (mean[o] < 10 || mean[o] > 200) continue; // clipping at the rails biases both
    const expected = Math.sqrt(0.1 * mean[o] + 0.25 + 1 / 12);
    assert.ok(Math.abs(sigma[o] - expected) < 0.15 * expected, `pixel ${o}: sigma ${sigma[o]} at mean ${mean[o]}, expected ${expected}`);
    checked++;
  }
  assert.ok(checked > 40, `${checked} pixels checked`);
});

test('a calibration refuses a bad seed', async () => {
  const dev = await sim('fpga');
  try { await runCalibration(dev, plan([{ type: 'noise' }]), { seed: -1 }); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /option seed/); }
  await dev.close();
});

test.run();
