// The `slate` process: what `bin/slate.js` runs, compiled to dist/cli/slate.js by `npm run build`.
import { runCli } from './main.ts';

process.exitCode = await runCli(process.argv);
