/**
 * Cost of the oracle's exact gradient (`npm run bench:oracle-vjp [-- --runs N]`): one
 * `TwinGradient.vjp` over a 400-step episode with the twins' analytic step VJPs (`stepVjp`, the
 * default) against the finite-difference contraction it replaced (`method: 'fd'`), per profile,
 * in the same run, so the ratio holds on a loaded machine where the absolute times do not.
 * The finite-difference path costs 2 (stateSize + inChannels) twin steps per time step, so its
 * cost grows with N² on boards with one drive channel per node: the 200-node row is why oracle
 * runs at 200 virtual nodes took more than 50 minutes. Every pair is checked to agree (relative
 * difference printed), so the timing cannot come from computing something else.
 */
import { Rng } from '../../src/core/rng.js';
import { createModel, type ProfileName } from '../../src/sim/profiles.js';
import { TwinGradient } from '../../src/train/twin-grad.js';
import { fmt, machineLine, opt, timeCalls } from './harness.js';

const args = process.argv.slice(2);
const RUNS = opt(args, '--runs', 3);
const T = 400;

const cases: { label: string; profile: ProfileName; overrides: Record<string, unknown> }[] = [
  { label: 'analog-awg (50 nodes, 50 drives)', profile: 'analog-awg', overrides: {} },
  { label: 'analog-awg at 200 nodes, 200 drives', profile: 'analog-awg', overrides: { nodes: 200, inChannels: 200 } },
  { label: 'fpga-awg (100 units, 50 drives)', profile: 'fpga-awg', overrides: {} },
  { label: 'optical (64 phases, 128 pixels)', profile: 'optical', overrides: {} },
];

console.log(machineLine(`oracle VJP, ${T}-step episode, median (best) of ${RUNS}`));
console.log('| device | analytic (stepVjp) | finite differences | fd / analytic | max relative difference |');
console.log('|---|---|---|---|---|');
for (const c of cases) {
  const model = createModel(c.profile, c.overrides as never, 1);
  const rng = new Rng(7);
  const drives = new Float64Array(T * model.inChannels).map(() => Math.tanh(rng.normal()));
  const dy = new Float64Array(T * model.outChannels).map(() => rng.normal());
  const analytic = new TwinGradient({ model, method: 'analytic' });
  const fd = new TwinGradient({ model, method: 'fd' });
  const ga = analytic.vjp(drives, dy), gf = fd.vjp(drives, dy);
  let scale = 0, diff = 0;
  for (let i = 0; i < ga.length; i++) {
    scale = Math.max(scale, Math.abs(ga[i]));
    diff = Math.max(diff, Math.abs(ga[i] - gf[i]));
  }
  const [ma, ba] = timeCalls(() => analytic.vjp(drives, dy), RUNS, 1);
  const [mf, bf] = timeCalls(() => fd.vjp(drives, dy), RUNS, 0);
  const ms = (s: number) => `${fmt(s * 1000, 1)} ms`;
  console.log(`| ${c.label} | ${ms(ma)} (${ms(ba)}) | ${ms(mf)} (${ms(bf)}) | ${fmt(mf / ma, 0)}x | ${(diff / scale).toExponential(1)} |`);
}
