// The weights the page ships: a checkpoint that `npm run train` wrote, whose run is in the quality
// ledger with its full-protocol score; a quick evaluation of the file must land near that score.
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHIPPED_WEIGHTS } from '../../src/app/protocol.ts';
import { fullProtocolRun, readLedger } from '../../src/cli/ledger.ts';
import { loadSourceImagesNode } from '../../src/data/locate.ts';
import { Mixer } from '../../src/data/mixer.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { useGpu } from '../helpers/gpu.ts';

const FILE = `public/${SHIPPED_WEIGHTS}`;
const LEDGER = 'docs/quality/ledger.jsonl';
/** A quick evaluation (1 × 5,000 mixtures) lands within this fraction of the 10 × 20,000 score. */
const TOLERANCE = 0.1;

describe('shipped weights', () => {
  const gpu = useGpu();

  it(`${FILE} is small, is in the ledger with its command, and scores what the ledger says`, async () => {
    expect(statSync(FILE).size).toBeLessThan(4 << 20);
    const bytes = new Uint8Array(readFileSync(FILE));
    const mixer = new Mixer(gpu(), await loadSourceImagesNode());
    const trainer = await Trainer.fromCheckpoint(gpu(), mixer, bytes, {}, FILE);
    const run = fullProtocolRun(readLedger(LEDGER), trainer.config, trainer.step);
    expect(run, `no full-protocol run of ${JSON.stringify(trainer.config)} at step ${trainer.step} in ${LEDGER}`).toBeDefined();
    expect(run!.command.length).toBeGreaterThan(0);
    const quick = await trainer.evaluate({ mixtures: 5000, repeats: 1 });
    expect(Math.abs(quick.mse_mean - run!.eval!.mse_mean) / run!.eval!.mse_mean).toBeLessThan(TOLERANCE);
    trainer.destroy();
    mixer.destroy();
  });
});
