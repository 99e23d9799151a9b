#!/usr/bin/env node
// Installed entry point: runs the compiled CLI (npm's `prepare` builds dist/ on install).
import { runFromProcess } from '../dist/cli/main.js';

runFromProcess();
