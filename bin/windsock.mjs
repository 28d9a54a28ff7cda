#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx (no build step that can go stale).
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

register();
// Windsock runs as sidecars, where resident memory counts for more than the last percent of
// throughput: V8's young generation stays at its starting size (2 MiB semi-spaces) instead of
// growing to 16 MiB ones, which all of a busy process's allocation soon touches (`log-metrics
// --once` on the bench corpus: ~105 MB peak RSS instead of 135-165 MB, same speed). Set after
// register(): starting a worker thread (tsx's loader runs in one) re-applies node's flags, and a
// --max-semi-space-size given to node is left to decide.
if (!`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`.includes('--max-semi-space-size')) {
  setFlagsFromString('--semi-space-growth-factor=1');
}
await import('./windsock.ts');
