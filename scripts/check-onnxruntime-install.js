#!/usr/bin/env node
// seismo's preinstall: stops an install that onnxruntime-node's own postinstall would break later,
// with one message that says how to install instead.
//
// Why: on linux/x64, onnxruntime-node's postinstall downloads its CUDA provider from api.nuget.org
// unless told to skip, and exits 1 when that host cannot be reached, which fails the whole
// `npm install seismo` on a machine with only the npm registry. A dependency cannot pass the skip
// on (a package's own .npmrc is not read when it is installed as a dependency), so we check the
// same settings that script reads and fail first, before any postinstall runs: npm runs every
// package's preinstall before any package's postinstall. seismo needs none of the downloaded files:
// the CPU and WebGPU providers are inside the onnxruntime-node package.
//
// Passes (exit 0) when any of these holds:
// - the platform is not linux/x64 (onnxruntime-node downloads nothing there);
// - onnxruntime-node's install setting is given (ONNXRUNTIME_NODE_INSTALL, its npm config
//   `onnxruntime-node-install`, or the older *_CUDA forms): `skip`, or an opt-in to download;
// - the project's package.json denies onnxruntime-node's scripts (`"allowScripts":
//   {"onnxruntime-node": false}`) and this npm honours that (checked with npm 11.19.1);
// - the CUDA provider files are already in place;
// - a proxy is configured (onnxruntime-node goes through it; we cannot judge from here);
// - api.nuget.org answers within PROBE_TIMEOUT_MS.
// SEISMO_ORT_PROBE_URL replaces the probed address (tests point it at a closed port).
'use strict';
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');

const PROBE_URL = process.env.SEISMO_ORT_PROBE_URL || 'https://api.nuget.org/v3/index.json';
const PROBE_TIMEOUT_MS = 5000;
/** The first npm version seen to skip the scripts of a package that allowScripts denies. */
const ALLOW_SCRIPTS_NPM = [11, 19, 1];
/** What onnxruntime-node 1.30's install script fetches on linux/x64 when nothing says otherwise. */
const CUDA_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'];

function installSetting() {
  const env = process.env;
  return env.ONNXRUNTIME_NODE_INSTALL || env.npm_config_onnxruntime_node_install ||
    env.ONNXRUNTIME_NODE_INSTALL_CUDA || env.npm_config_onnxruntime_node_install_cuda || '';
}

/** [major, minor, patch] of the npm running this script, from its user agent (`npm/11.19.1 node/...`). */
function npmVersion() {
  const m = /\bnpm\/(\d+)\.(\d+)\.(\d+)/.exec(process.env.npm_config_user_agent || '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(v, min) {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

/** Whether the project being installed into denies onnxruntime-node's scripts in allowScripts. */
function projectDeniesOrtScripts() {
  const root = process.env.npm_config_local_prefix;
  if (!root) return false;
  try {
    const policy = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).allowScripts;
    if (!policy || typeof policy !== 'object') return false;
    return Object.entries(policy).some(([key, value]) => value === false && /^onnxruntime-node(@|$)/.test(key));
  } catch {
    return false;
  }
}

function cudaFilesPresent() {
  try {
    const manifest = require.resolve('onnxruntime-node/package.json', { paths: [process.env.npm_config_local_prefix || process.cwd(), process.cwd()] });
    const bin = path.join(path.dirname(manifest), 'bin', 'napi-v6', 'linux', 'x64');
    return CUDA_FILES.every((f) => fs.existsSync(path.join(bin, f)));
  } catch {
    return false;
  }
}

function proxyConfigured() {
  const env = process.env;
  return Boolean(env.GLOBAL_AGENT_HTTPS_PROXY || env.GLOBAL_AGENT_HTTP_PROXY || env.HTTPS_PROXY || env.https_proxy);
}

/** Resolves true when `url` answers at all (any HTTP status), false on an error or after the timeout. */
function reachable(url) {
  return new Promise((resolve) => {
    const req = https.get(url, { timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
  });
}

function fail(npm) {
  const honoursDeny = npm && atLeast(npm, ALLOW_SCRIPTS_NPM);
  const fix = honoursDeny
    ? '  npm pkg set allowScripts.onnxruntime-node=false --json\n'
    : '  echo "onnxruntime-node-install=skip" >> .npmrc\n';
  process.stderr.write(
    '\nseismo: install stopped before onnxruntime-node downloads its CUDA provider from api.nuget.org, which\n' +
      'this machine cannot reach (that download would fail the install). seismo runs on the CPU and WebGPU\n' +
      'providers bundled with onnxruntime-node. Skip the download in this project, then install again:\n\n' +
      fix +
      '\n(or once: ONNXRUNTIME_NODE_INSTALL=skip npm install ...). For CUDA 12 with internet: ONNXRUNTIME_NODE_INSTALL=cuda12.\n\n',
  );
  process.exit(1);
}

async function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  if (installSetting()) return;
  const npm = npmVersion();
  if (projectDeniesOrtScripts() && npm && atLeast(npm, ALLOW_SCRIPTS_NPM)) return;
  if (cudaFilesPresent()) return;
  if (proxyConfigured()) return;
  if (await reachable(PROBE_URL)) return;
  fail(npm);
}

void main();
