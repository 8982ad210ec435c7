// npm run train -- [flags]: the command line of train() (src/cli/train-command.ts, its flags and usage).
import { exitOnError } from './common.ts';
import { train } from './train-command.ts';

exitOnError();
process.exit(await train(process.argv.slice(2)));
