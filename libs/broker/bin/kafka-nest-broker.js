#!/usr/bin/env node
// The `kafka-nest-broker` command: the standalone embedded broker (`--help` lists its options).
import '../dist/esm/cli.js';
