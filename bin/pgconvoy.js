#!/usr/bin/env -S node --max-semi-space-size=2
// Installed entry point: runs the compiled CLI (npm's `prepare` builds dist/ on install).
//
// Why the flag: the data path allocates a fresh buffer per socket read, and V8 frees a dead buffer only when a
// scavenge of the young generation finds it. With the default young generation (16 MB semi-spaces) tens of MB of
// dead buffers wait for it, which alone put a backup above 100 MB of RSS; with 2 MB the same backup peaks near
// 80 MB at no measurable CPU cost (paired runs, scale 100: CPU 0.94 of the default's, serve's four-at-once no
// slower). V8 reads the size only when the heap is made, so it cannot be set from inside; `env -S` passes it.
import { runFromProcess } from '../dist/cli/main.js';

runFromProcess();
