import { createMemoryPair } from '../../src/transport/memory.js';
import { linkContract } from './contract.js';

linkContract('memory pair', async () => {
  const [a, b] = createMemoryPair({ maxChunk: 1500, seed: 3 });
  return { a, b, cleanup: async () => {} };
});
