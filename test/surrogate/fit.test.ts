import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { NarxSurrogate } from '../../src/surrogate/narx.js';
import { cutWindows } from '../../src/surrogate/windows.js';
import { SmallEsn, tanhMemory1, uniformDrives } from './helpers.js';

test.before(async () => {
  await tf.setBackend('cpu');
});

const REPORT = process.env.SURROGATE_REPORT === '1';

test('fits y = tanh(0.8 d(t) + 0.5 d(t-1)) on 3 channels: held-out NMSE < 1e-3 (measured 6.8e-5), deterministic', () => {
  const shape = { inChannels: 3, outChannels: 3, window: 2, responseLags: 0 };
  const train = uniformDrives(new Rng(1), 2000, 3), held = uniformDrives(new Rng(2), 500, 3);
  const ex = cutWindows(shape, train, tanhMemory1(train, 3)), exHeld = cutWindows(shape, held, tanhMemory1(held, 3));
  const run = () => {
    const s = new NarxSurrogate({ ...shape, hidden: [32], seed: 7 });
    const before = s.evaluate(exHeld);
    const loss = s.fit(ex, { epochs: 15, batchSize: 32, learningRate: 1e-2, seed: 8 });
    const nmse = s.evaluate(exHeld);
    s.dispose();
    return { before, loss, nmse };
  };
  const a = run(), b = run();
  if (REPORT) console.log('tanh memory-1', a);
  assert.ok(a.before > 0.1, `untrained NMSE ${a.before}`);
  assert.ok(a.nmse < 1e-3, `held-out NMSE ${a.nmse}`);
  assert.equal(a, b);
});

test('fits a leaky 20-unit ESN (1 in, 2 out) (leak 0.4): W=8 held-out NMSE < 0.01 (measured 3.6e-3; 1.1e-3 with R=2; 0.46 with W=1)', () => {
  const esn = new SmallEsn(1, 2, { units: 20, leak: 0.4, rho: 1.2, seed: 3 });
  const train = uniformDrives(new Rng(4), 2500, 1), held = uniformDrives(new Rng(5), 600, 1);
  const yTrain = esn.run(train), yHeld = esn.run(held);
  const results: Record<string, number> = {};
  for (const [window, responseLags] of [[1, 0], [8, 0], [8, 2]]) {
    const shape = { inChannels: 1, outChannels: 2, window, responseLags };
    const s = new NarxSurrogate({ ...shape, hidden: [32], seed: 9 });
    s.fit(cutWindows(shape, train, yTrain), { epochs: 10, batchSize: 32, learningRate: 1e-2, seed: 10 });
    results[`W${window}R${responseLags}`] = s.evaluate(cutWindows(shape, held, yHeld));
    s.dispose();
  }
  if (REPORT) console.log('ESN', results);
  assert.ok(results.W1R0 > 0.2, `memory matters: W=1 NMSE ${results.W1R0}`);
  assert.ok(results.W8R0 < 0.01, `W=8 NMSE ${results.W8R0}`);
  assert.ok(results.W8R2 < results.W8R0, `NARX lags help: W=8 R=2 NMSE ${results.W8R2}`);
});

test.run();
