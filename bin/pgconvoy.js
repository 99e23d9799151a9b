#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=4194304 node --max-semi-space-size=2
// Installed entry point: runs the compiled CLI (npm's `prepare` builds dist/ on install).
//
// Why the flag: the data path allocates a fresh buffer per socket read, and V8 frees a dead buffer only when a
// scavenge of the young generation finds it. With the default young generation (16 MB semi-spaces) tens of MB of
// dead buffers wait for it, which alone put a backup above 100 MB of RSS; with 2 MB the same backup peaks near
// 80 MB at no measurable CPU cost (paired runs, scale 100: CPU 0.94 of the default's, serve's four-at-once no
// slower). V8 reads the size only when the heap is made, so it cannot be set from inside; `env -S` passes it.
//
// Why the tunables: socket reads land in 1 MiB slabs (src/client/read-slabs.ts) and each scavenge frees several MB
// of them at once. By default glibc maps a block that large on its own (so every slab's pages fault in afresh)
// and gives the top of its heap back to the kernel whenever 128 KiB of it is free (so the next ones fault in
// again): 60,000 to 170,000 page faults per 1.5 GB backup, a quarter of its system time. Slabs from the heap
// (mmap threshold 4 MB) and up to 32 MB kept free leave about 13,000 (scale 100, tar to /dev/null, paired runs:
// wall 0.90, CPU 0.91 with 64 KiB reads). glibc reads them at process start only; other C libraries ignore them.
// They are taken out of the environment again here, so the programs pgconvoy starts (postgres, pg_ctl) run with
// their own defaults.
import { runFromProcess } from '../dist/cli/main.js';

if (process.env['GLIBC_TUNABLES'] === 'glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=4194304') delete process.env['GLIBC_TUNABLES'];
runFromProcess();
