#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, which honours tsconfig "paths" (@ralm/*).
// Service images run the same sources through tsx too (Dockerfile).
'use strict';
const path = require('node:path');
require('tsx/cjs/api').register({ tsconfig: path.resolve(__dirname, '../../../tsconfig.json') });
require('../src/main.ts');
