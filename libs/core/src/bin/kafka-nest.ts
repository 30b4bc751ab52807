#!/usr/bin/env node
/** The `kafka-nest` executable: see `../cli.ts` (`kafka-nest --help`). */
import 'reflect-metadata';
import { main } from '../cli.js';

process.exitCode = await main(process.argv.slice(2));
