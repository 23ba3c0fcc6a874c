/**
 * The static classification tasks by name, as `rhil train --model-spec` and `rhil run` load them:
 * the same seed gives the same split, so a model applied later is tested on the examples it never
 * saw in training.
 */
import type { ClassSet } from './classes.js';
import { loadMnist } from './mnist.js';
import { syntheticClasses } from './synthetic-classes.js';

export type ClassTaskName = 'mnist' | 'synthetic-classes';
export const CLASS_TASK_NAMES: readonly ClassTaskName[] = ['mnist', 'synthetic-classes'];

export function isClassTask(name: string): name is ClassTaskName {
  return (CLASS_TASK_NAMES as readonly string[]).includes(name);
}

/** The task's data for `seed` (mnist: the package's 10,000 digits split 8,000 / 2,000; synthetic-classes: its defaults). */
export function loadClassTask(name: ClassTaskName, seed: number): ClassSet {
  switch (name) {
    case 'mnist': return loadMnist({ seed });
    case 'synthetic-classes': return syntheticClasses({ seed });
    default: throw new RangeError(`unknown classification task '${String(name)}' (known: ${CLASS_TASK_NAMES.join(', ')})`);
  }
}
