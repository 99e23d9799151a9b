#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.trim_threshold=16777216:glibc.malloc.mmap_threshold=4194304 node --max-semi-space-size=2 --initial-old-space-size=64
// Installed entry point: runs the compiled CLI (npm's `prepare` builds dist/ on install).
//
// Node flags and glibc settings come from the `env -S` line above: V8 and glibc read them only when the process
// starts, so they cannot be set from inside.
//
// Why the small young generation: V8 frees a dead read buffer only when a scavenge finds its last view. With the
// default young generation (16 MB semi-spaces) tens of MB of dead buffers wait for it, which alone put a backup
// above 100 MB of RSS; with 2 MB the same backup peaks near 85 MB at no measurable CPU cost (paired runs, scale
// 100: CPU 0.94 of the default's, serve's four-at-once no slower).
//
// Why the old space: serve keeps each chunk it read until the slowest of its backups sent it, so many survive two
// scavenges and are promoted, and V8 counts their buffers against an old generation sized for a heap of 10 MB: 90
// full collections per ten backups of 1.5 GB. Starting the old generation at 64 MB leaves 1 to 4 (ten at once
// through serve, three paired runs: wall 0.84, serve's CPU 0.78, serve's peak RSS 200 MB instead of 164). A
// backup's own process does no full collection either way and measured the same.
//
// Why the tunables: socket reads land in 1 MiB slabs (src/client/read-slabs.ts) and each scavenge frees several MB
// of them at once. By default glibc maps a block that large on its own (so every slab's pages fault in afresh)
// and gives the top of its heap back to the kernel whenever 128 KiB of it is free (so the next ones fault in
// again): 60,000 to 170,000 page faults per 1.5 GB backup, a quarter of its system time. Slabs from the heap
// (mmap threshold 4 MB) and up to 16 MB kept free leave about 12,000 (scale 100, tar to /dev/null, paired runs:
// wall 0.90, CPU 0.91 with 64 KiB reads); 8 MB left up to 27,000. Every MB kept is serve's too, and in a memory
// cgroup a MB serve holds is a MB of page cache its backups cannot share, so no more is kept than that. Other C
// libraries ignore these settings. They are taken out of the environment again here, so the programs pgconvoy
// starts (postgres, pg_ctl) run with their own defaults.
import { runFromProcess } from '../dist/cli/main.js';

if (process.env['GLIBC_TUNABLES'] === 'glibc.malloc.trim_threshold=16777216:glibc.malloc.mmap_threshold=4194304') delete process.env['GLIBC_TUNABLES'];
runFromProcess();
