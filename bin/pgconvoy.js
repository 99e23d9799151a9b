#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.trim_threshold=33554432 node --max-semi-space-size=2
// Installed entry point: runs the compiled CLI (npm's `prepare` builds dist/ on install).
//
// Why the flag: the data path allocates a fresh buffer per socket read, and V8 frees a dead buffer only when a
// scavenge of the young generation finds it. With the default young generation (16 MB semi-spaces) tens of MB of
// dead buffers wait for it, which alone put a backup above 100 MB of RSS; with 2 MB the same backup peaks near
// 80 MB at no measurable CPU cost (paired runs, scale 100: CPU 0.94 of the default's, serve's four-at-once no
// slower). V8 reads the size only when the heap is made, so it cannot be set from inside; `env -S` passes it.
//
// Why the tunable: those 64 KiB read buffers come from glibc's heap, and each scavenge frees about 8 MB of them at
// once. glibc gives the top of its heap back to the kernel whenever more than 128 KiB of it is free, so the next
// reads fault in fresh zeroed pages: 60,000 to 100,000 page faults per 1.5 GB backup, a quarter of its system
// time. Keeping up to 32 MB free leaves about 16,000 (paired runs, scale 100, tar to /dev/null: wall 0.90, CPU
// 0.91, peak RSS +10 MB). glibc reads it at process start only; other C libraries ignore it. It is taken out of
// the environment again here, so the programs pgconvoy starts (postgres, pg_ctl) run with their own defaults.
import { runFromProcess } from '../dist/cli/main.js';

if (process.env['GLIBC_TUNABLES'] === 'glibc.malloc.trim_threshold=33554432') delete process.env['GLIBC_TUNABLES'];
runFromProcess();
