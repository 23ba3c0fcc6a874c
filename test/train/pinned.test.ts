import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDevice } from '../../src/device/index.js';
import { selectBackend } from '../../src/core/backend.js';
import type { TrainOptions, TrainerName } from '../../src/train/common.js';
import { train } from '../../src/train/train.js';

/**
 * Regression pin: the same seed on the same simulator gives the same test NMSE, trainer by
 * trainer. The figures were measured before the training loop became one RxJS pipeline
 * (commit 0c1fabc); a refactor that changes them changed behaviour. insilico's changed on purpose
 * (0.18959 before) when NarxSurrogate.fit became the one fit path (NarxAdam's written-out backward
 * pass instead of tfjs autodiff: the same loss and optimiser, float32 rounding differs).
 * pat's changed on purpose (0.203268559357088 before) when its fidelity check became the
 * multi-direction reading (7 segments a check instead of 2): the check's extra measurements
 * advance the simulator's noise, so later episodes see other noise. With fidelityEvery 0 the run
 * gives 0.20371582732075483 before and after that change. oracle's changed on purpose
 * (0.18923726134795307 before) when TwinGradient took the twins' exact stepVjp instead of finite
 * differences (the gradients differ by ~1e-7 relative, the FD error); with method 'fd' the run
 * still gives the old figure.
 */
const SMALL: Omit<TrainOptions, 'trainer' | 'seed'> = {
  task: 'narma10', episodes: 6, steps: 150, washout: 30, trainSteps: 1200, fitSteps: 600, testSteps: 300,
  surrogate: { fitExamples: 256, hidden: [16], firstEpochs: 10 }, fidelityEvery: 3,
};

const PINNED: Record<TrainerName, number> = {
  pat: 0.2011035527544073, oracle: 0.1890365555860454, digital: 0.19191524989332737, classic: 0.22032548842816022,
  insilico: 0.18934128924453764, spsa: 0.37102568163375305,
};

test.before(async () => {
  await selectBackend('wasm');
});

for (const trainer of Object.keys(PINNED) as TrainerName[]) {
  test(`${trainer} on sim:analog-awg, seed 1, gives its pinned test NMSE`, async () => {
    const device = trainer === 'digital' ? undefined : await openDevice('sim:analog-awg', { seed: 1 });
    try {
      const res = await train({ ...SMALL, trainer, seed: 1, device });
      console.log(`    ${trainer}: ${res.test.value} (${res.deviceSamples} device samples)`);
      assert.ok(Math.abs(res.test.value - PINNED[trainer]) <= 1e-6 * PINNED[trainer], `${trainer}: ${res.test.value}, pinned ${PINNED[trainer]}`);
    } finally {
      await device?.close();
    }
  });
}

test.run();
