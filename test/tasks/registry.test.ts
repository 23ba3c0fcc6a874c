import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tasks, taskNames, generateTask, isTaskName, narma10, memoryTask, type TaskData } from '../../src/tasks/index.js';
import { same, throwsRangeNaming } from './helpers.js';

const check = (d: TaskData, n: number): void => {
  assert.is(d.steps, n, `${d.task} steps`);
  assert.is(d.inputs.length, n * d.inChannels, `${d.task} inputs`);
  assert.is(d.targets.length, n * d.outChannels, `${d.task} targets`);
  assert.ok(d.washout >= 0 && d.washout <= n / 2, `${d.task} washout`);
  assert.ok(d.inputs.every(Number.isFinite) && d.targets.every(Number.isFinite), `${d.task} finite`);
};

test('every registered task generates the uniform shape, deterministically in the seed', () => {
  assert.equal(taskNames, ['narma10', 'mackey-glass', 'memory-capacity', 'waveforms', 'channel-eq']);
  for (const name of taskNames) {
    assert.ok(tasks[name].describe.length > 0);
    const a = generateTask(name, 400, {}, { seed: 1 });
    const b = generateTask(name, 400, {}, { seed: 1 });
    const c = generateTask(name, 400, {}, { seed: 2 });
    assert.is(a.task, name);
    check(a, 400);
    assert.ok(same(a.inputs, b.inputs) && same(a.targets, b.targets), `${name} same seed`);
    assert.not.ok(same(a.inputs, c.inputs) && same(a.targets, c.targets), `${name} different seed`);
  }
});

test('perfect predictions get the best score of each metric', () => {
  const best: Record<string, number> = { nmse: 0, nrmse: 0, accuracy: 1, 'symbol-error-rate': 0 };
  for (const name of taskNames) {
    const d = generateTask(name, 600, {}, { seed: 3 });
    const w = d.washout * d.outChannels;
    const target = d.targets.subarray(w);
    const expected = d.metric === 'memory-capacity' ? d.outChannels : best[d.metric];
    assert.ok(Math.abs(d.score(target.slice(), target) - expected) < 1e-9, `${name}: ${d.metric}`);
    assert.is(d.higherIsBetter, d.metric === 'accuracy' || d.metric === 'memory-capacity');
  }
});

test('registry entries wrap the generators: same data, row-major channels', () => {
  const d = generateTask('narma10', 300, {}, { seed: 4 });
  const raw = narma10(300, {}, { seed: 4 });
  assert.ok(same(d.inputs, raw.u) && same(d.targets, raw.y));
  const m = generateTask('memory-capacity', 100, { maxDelay: 3 }, { seed: 4 });
  const mr = memoryTask(100, { maxDelay: 3 }, { seed: 4 });
  assert.is(m.outChannels, 3);
  for (let t = 0; t < 100; t++) for (let k = 0; k < 3; k++) assert.is(m.targets[t * 3 + k], mr.targets[k][t]);
  const mg = generateTask('mackey-glass', 50, { horizon: 3 }, { seed: 4 });
  assert.is(mg.outChannels, 3);
  for (let t = 0; t < 49; t++) assert.is(mg.targets[t * 3], mg.inputs[t + 1]); // x(t+1) is the next input
  assert.is(mg.targets[10 * 3 + 2], mg.inputs[13]);
});

test('unknown task, unknown parameter and invalid values throw RangeError naming them', () => {
  assert.ok(isTaskName('waveforms'));
  assert.not.ok(isTaskName('toString'));
  throwsRangeNaming(() => generateTask('narma20', 10, {}, { seed: 1 }), 'task');
  throwsRangeNaming(() => generateTask('channel-eq', 10, { snr: 3 }, { seed: 1 }), 'snr');
  throwsRangeNaming(() => generateTask('mackey-glass', 10, { horizon: 0 }, { seed: 1 }), 'horizon');
  throwsRangeNaming(() => generateTask('waveforms', 10, { period: 'x' }, { seed: 1 }), 'period');
  throwsRangeNaming(() => generateTask('memory-capacity', -3, {}, { seed: 1 }), 'n');
});

test.run();
