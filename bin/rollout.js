#!/usr/bin/env node
// Thin launcher: the compiled entry point does everything (built by `npm run build`, run by `prepare`).
import '../dist/main.js';
