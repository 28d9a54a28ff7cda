// `npm run stack:up` / `stack:down`: start or stop the test stack by hand (for running one test file).
import { down, stackEnv, up } from './index.ts';

const cmd = process.argv[2];
if (cmd === 'up') {
  const { info, started } = await up();
  process.stderr.write(`stack ${started ? 'started' : 'already running'}; export these to run a single test file:\n`);
  for (const [k, v] of Object.entries(stackEnv(info))) process.stdout.write(`export ${k}='${v}'\n`);
} else if (cmd === 'down') {
  await down();
} else {
  process.stderr.write('usage: stack/cli.ts up|down\n');
  process.exit(2);
}
