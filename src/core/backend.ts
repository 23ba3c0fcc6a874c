/**
 * TensorFlow.js backend selection for training, with the choice recorded as a name and a detail
 * string for run metadata.
 *
 * - `tensorflow`: native libtensorflow through `@tensorflow/tfjs-node`. Optional and not a
 *   dependency of this package: its install script downloads libtensorflow, which fails offline.
 *   It is loaded by a dynamic import only when present.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm` (XNNPACK kernels, SIMD where the runtime has it).
 *   Under Node the `.wasm` binaries are read from the package's `dist` folder on disk, never
 *   fetched from a URL. Node gets one thread: tfjs disables wasm threads under Node
 *   (`WASM_HAS_MULTITHREAD_SUPPORT` is false when `IS_NODE`).
 * - `cpu`: plain JavaScript kernels, always available, slowest.
 *
 * `auto` tries them in that order and takes the first that initialises and computes a 2x2 matMul
 * correctly.
 *
 * ```ts
 * const backend = await selectBackend();        // e.g. { name: 'wasm', detail: 'wasm (simd, 1 thread)' }
 * metadata.backend = backend;
 * ```
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** A backend request: `auto` picks the fastest that loads. */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** The backend in use after selection; both fields go into run metadata. */
export interface BackendInfo {
  /** tfjs backend name as `tf.getBackend()` reports it: `tensorflow`, `wasm` or `cpu`. */
  name: string;
  /** Human-readable detail, e.g. `wasm (simd, 1 thread)` or `cpu (plain JavaScript)`. */
  detail: string;
}

/** Every accepted choice, in the order `auto` tries the concrete ones (after `auto`). */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Package that provides the native `tensorflow` backend; never a declared dependency. */
const TFJS_NODE = '@tensorflow/tfjs-node';
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

const HINTS: Record<Exclude<BackendChoice, 'auto'>, string> = {
  tensorflow: `npm install ${TFJS_NODE} on a machine that can download libtensorflow`,
  wasm: `npm install ${WASM_PACKAGE}@${tf.version_core} (it is a dependency of reservoir-hil; reinstall if it is missing)`,
  cpu: 'the cpu backend ships with @tensorflow/tfjs; reinstall it',
};

const require = createRequire(import.meta.url);

/**
 * Selects and initialises a tfjs backend and checks it computes.
 *
 * @param choice `auto` (default) tries `tensorflow`, then `wasm`, then `cpu`; any other value
 *   forces that backend and throws an Error naming it, why it failed and how to get it.
 * @returns the backend now active in tfjs, with a detail string for run metadata.
 */
export async function selectBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`unknown backend ${JSON.stringify(choice)}: expected one of ${BACKEND_CHOICES.join(', ')}`);
  }
  if (choice !== 'auto') return activate(choice);
  const failures: string[] = [];
  for (const name of ['tensorflow', 'wasm'] as const) {
    try {
      return await activate(name);
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  const info = await activate('cpu');
  return { ...info, detail: `${info.detail}; not loaded: ${failures.map(shortReason).join('; ')}` };
}

function shortReason(s: string): string {
  const i = s.indexOf(' (install:');
  return i >= 0 ? s.slice(0, i) : s;
}

async function activate(name: Exclude<BackendChoice, 'auto'>): Promise<BackendInfo> {
  try {
    switch (name) {
      case 'tensorflow': return await activateTensorflow();
      case 'wasm': return await activateWasm();
      case 'cpu': return await activateCpu();
    }
  } catch (e) {
    throw new Error(`backend '${name}' is not available: ${(e as Error).message} (install: ${HINTS[name]})`, { cause: e });
  }
}

async function activateTensorflow(): Promise<BackendInfo> {
  let mod: { version?: Record<string, string> };
  try {
    // A variable specifier keeps TypeScript from requiring the package's types at build time.
    const specifier: string = TFJS_NODE;
    mod = (await import(specifier)) as typeof mod;
  } catch (e) {
    const err = e as Error & { code?: string };
    // Only the package itself missing is "not installed"; a missing libtensorflow or inner
    // dependency is a load failure with its own message.
    const missing = err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(`'${TFJS_NODE}'`);
    throw new Error(missing ? `${TFJS_NODE} is not installed` : `${TFJS_NODE} failed to load: ${err.message}`);
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    // tfjs-node registered into a different copy of tfjs-core than ours.
    throw new Error(`${TFJS_NODE} loaded but its backend is not registered with this @tensorflow/tfjs ${tf.version_core} (version mismatch?)`);
  }
  await setAndCheck('tensorflow');
  const v = mod.version?.['tfjs-node'];
  return { name: 'tensorflow', detail: `tensorflow (libtensorflow via tfjs-node${v ? ` ${v}` : ''})` };
}

let wasmPathsSet = false;

async function activateWasm(): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // main is dist/tf-backend-wasm.node.js; the three .wasm binaries sit beside it.
    const dir = path.dirname(require.resolve(WASM_PACKAGE)) + path.sep;
    const binary = path.join(dir, 'tfjs-backend-wasm-simd.wasm');
    if (!existsSync(binary)) throw new Error(`${binary} not found`);
    wasm.setWasmPaths(dir); // a file path prefix: read from disk, no fetch
    wasmPathsSet = true;
  }
  await setAndCheck('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return { name: 'wasm', detail: `wasm (${simd ? 'simd' : 'no simd'}, ${threads} thread${threads === 1 ? '' : 's'})` };
}

async function activateCpu(): Promise<BackendInfo> {
  await setAndCheck('cpu');
  return { name: 'cpu', detail: 'cpu (plain JavaScript)' };
}

/** Makes `name` the active backend and verifies a 2x2 matMul, or restores the previous one and throws. */
async function setAndCheck(name: string): Promise<void> {
  const previous = tf.getBackend() as string | null;
  try {
    if (!(await tf.setBackend(name))) throw new Error('initialisation failed');
    await tf.ready();
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const p = tf.matMul(a, a);
    const got = Array.from(await p.data());
    tf.dispose([a, p]);
    if (got.join(',') !== '7,10,15,22') {
      throw new Error(`check matMul gave [${got.join(', ')}], expected [7, 10, 15, 22]`);
    }
  } catch (e) {
    if (previous && previous !== name) await tf.setBackend(previous);
    throw e;
  }
}
