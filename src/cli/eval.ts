// npm run eval -- --weights FILE [flags]: the command line of evaluateCheckpoint() (src/cli/eval-command.ts).
import { exitOnError } from './common.ts';
import { evaluateCheckpoint } from './eval-command.ts';

exitOnError();
process.exit(await evaluateCheckpoint(process.argv.slice(2)));
