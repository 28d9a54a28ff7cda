#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx (no build step that can go stale).
import { register } from 'tsx/esm/api';

register();
await import('./windsock.ts');
