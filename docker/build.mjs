#!/usr/bin/env node
// The image's build step: compiles the CLI (bin/windsock.ts and every @windsock/* workspace it
// imports) to JavaScript with esbuild, one ESM entry plus a chunk per lazily loaded command, so the
// runtime needs no TypeScript loader. Third-party packages stay external: the runtime stage installs
// them with `npm ci --omit=dev`. Usage: node docker/build.mjs [outdir] (default dist).
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const outdir = process.argv[2] ?? 'dist';
await build({
  entryPoints: { windsock: 'bin/windsock.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  logLevel: 'warning',
  // CommonJS dependencies inside the ESM output still call require().
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  plugins: [
    {
      name: 'external-third-party',
      setup(b) {
        // Bare imports that are not Windsock's own workspaces are installed in the image, not bundled.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@windsock/') || args.path.startsWith('node:')
            ? undefined
            : { path: args.path, external: true },
        );
      },
    },
  ],
});
// Files a module reads next to itself (import.meta.url): container-stats' live page.
cpSync('services/container-stats/src/page', join(outdir, 'page'), { recursive: true });
console.log(`built ${outdir}/windsock.mjs`);
