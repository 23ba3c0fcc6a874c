import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Progress, formatDuration, formatRate } from '../../src/cli/progress.js';

/** A stream that keeps what is written, and a clock the test moves. */
function fake(tty: boolean, columns = 200) {
  const writes: string[] = [];
  let t = 0;
  return {
    stream: { isTTY: tty, columns, write: (s: string) => { writes.push(s); return true; } },
    writes,
    now: () => t,
    at: (ms: number) => { t = ms; },
  };
}

test('durations and rates are short and readable', () => {
  assert.is(formatDuration(0), '0:00');
  assert.is(formatDuration(42.4), '0:42');
  assert.is(formatDuration(3725), '1:02:05');
  assert.is(formatDuration(NaN), '?');
  assert.is(formatDuration(-1), '?');
  assert.is(formatRate(1.853, 'episodes'), '1.85 episodes/s');
  assert.is(formatRate(42.46, 'batches'), '42.5 batches/s');
  assert.is(formatRate(1234.4, 'samples'), '1234 samples/s');
  assert.is(formatRate(0.01234, 'episodes'), '0.0123 episodes/s');
  assert.is(formatRate(0, 'episodes'), '- episodes/s');
});

test('on a terminal: one redrawn line with bar, count, percentage, rate and ETA; redraws are throttled', () => {
  const f = fake(true);
  const p = new Progress({ total: 10, unit: 'episodes', label: 'training', stream: f.stream, now: f.now });
  f.at(2000);
  p.update(1, 'loss 1e-2');
  assert.is(f.writes.length, 1);
  assert.is(f.writes[0], `\rtraining [##${'-'.repeat(22)}] 1/10 episodes  10%  0.500 episodes/s  ETA 0:18  loss 1e-2\x1b[K`);
  f.at(2050);
  p.update(2);
  assert.is(f.writes.length, 1, 'a redraw within 100 ms is skipped');
  f.at(4000);
  p.update(2);
  assert.match(f.writes[1], /2\/10 episodes {2}20% {2}0\.500 episodes\/s {2}ETA 0:16/);
  // A line printed through log() lands above the bar, which is drawn again under it.
  const out: string[] = [];
  p.log('episode 2', (s) => out.push(s));
  assert.equal(out, ['episode 2\n']);
  assert.is(f.writes[2], '\r\x1b[K');
  assert.match(f.writes[3], /^\rtraining \[/);
  f.at(20000);
  p.update(10);
  p.finish();
  assert.match(f.writes[f.writes.length - 2], /10\/10 episodes 100% .* took 0:20/);
  assert.is(f.writes[f.writes.length - 1], '\n');
  const n = f.writes.length;
  p.update(3);
  p.finish();
  assert.is(f.writes.length, n, 'nothing after finish');
});

test('on a terminal the line is cut to the width', () => {
  const f = fake(true, 30);
  const p = new Progress({ total: 10, unit: 'episodes', label: 'training', stream: f.stream, now: f.now });
  f.at(1000);
  p.update(5);
  assert.is(f.writes[0].replace(/^\r|\x1b\[K$/g, '').length, 29);
});

test('not a terminal: plain lines only at each tenth of the way when the work is quick', () => {
  const f = fake(false);
  const p = new Progress({ total: 100, unit: 'episodes', label: 'training', stream: f.stream, now: f.now });
  for (let i = 1; i <= 100; i++) {
    f.at(i * 100);
    p.update(i);
  }
  p.finish();
  assert.is(f.writes.length, 10);
  assert.is(f.writes[0], 'training: 10/100 episodes (10%), 10.0 episodes/s, ETA 0:09\n');
  assert.is(f.writes[9], 'training: 100/100 episodes (100%), 10.0 episodes/s, took 0:10\n');
});

test('not a terminal: slow work prints at most every plainEveryMs; an early finish prints where it stopped', () => {
  const f = fake(false);
  const p = new Progress({ total: 1000, unit: 'episodes', stream: f.stream, now: f.now, plainEveryMs: 5000 });
  for (let i = 1; i <= 20; i++) {
    f.at(i * 3000);
    p.update(i);
  }
  assert.is(f.writes.length, 10);
  assert.is(f.writes[0], '2/1000 episodes (0%), 0.333 episodes/s, ETA 49:54\n');
  p.finish();
  assert.is(f.writes.length, 11);
  assert.match(f.writes[10], /^20\/1000 episodes \(2%\)/);
});

test('plainTenths off (run, export): a quick job prints nothing, a slow one a line every plainEveryMs and a last one', () => {
  const quick = fake(false);
  const q = new Progress({ unit: 'steps', label: 'run', stream: quick.stream, now: quick.now, plainEveryMs: 5000, plainTenths: false });
  for (let i = 1; i <= 10; i++) {
    quick.at(i * 100);
    q.update(i * 1000, undefined, i / 10);
  }
  q.finish();
  assert.equal(quick.writes, []);
  const slow = fake(false);
  const p = new Progress({ unit: 'steps', label: 'run', stream: slow.stream, now: slow.now, plainEveryMs: 5000, plainTenths: false });
  for (let i = 1; i <= 12; i++) {
    slow.at(i * 1000);
    p.update(i * 1000);
  }
  assert.is(slow.writes.length, 2);
  assert.match(slow.writes[0], /^run: 5000 steps \(0%\), 1000 steps\/s/);
  p.finish();
  assert.is(slow.writes.length, 3);
  assert.match(slow.writes[2], /^run: 12000 steps/);
});

test('a resumed run counts only the new units toward the rate', () => {
  const f = fake(false);
  const p = new Progress({ total: 20, unit: 'episodes', start: 10, stream: f.stream, now: f.now });
  f.at(4000);
  p.update(12);
  assert.is(p.rate(), 0.5);
  assert.is(p.eta(), 16);
  assert.is(p.line(), '12/20 episodes (60%), 0.500 episodes/s, ETA 0:16');
});

test('an unknown total takes the caller\'s fraction for the bar and the ETA', () => {
  const f = fake(true);
  const p = new Progress({ unit: 'samples', label: 'calibrating', stream: f.stream, now: f.now });
  f.at(1000);
  p.update(500, 'sweep (1/5)', 0.25);
  assert.is(p.eta(), 3);
  assert.is(p.line(), `calibrating [######${'-'.repeat(18)}] 500 samples  25%  500 samples/s  ETA 0:03  sweep (1/5)`);
  assert.throws(() => new Progress({ total: 0, unit: 'x' }), /positive/);
});

test.run();
