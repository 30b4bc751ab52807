#!/usr/bin/env node
// The `kafka-nest` command: dead letters from the command line (`kafka-nest --help` lists its commands).
import '../dist/esm/bin/kafka-nest.js';
