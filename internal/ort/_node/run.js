#!/usr/bin/env node
// Runs ONNX models in ONNX Runtime (CPU) on .npy inputs and writes .npy
// outputs: jacobi's check that the models it exports run in a real ONNX
// engine, and the ONNX Runtime side of its benchmark.
//
// One model, from the command line:
//
//   node run.js MODEL.onnx NAME=IN.npy ... [--out DIR] [--threads N] [--repeat N]
//
// writes DIR/<output name>.npy for every output of the model (DIR defaults
// to .) and, with --repeat N, times N runs after one warm-up run and prints
// the seconds of each as JSON.
//
// As a server, for the Go harness (internal/ort): node run.js --serve reads
// one JSON request a line on stdin and answers one JSON line on stdout:
//
//   {"model": "m.onnx", "inputs": {"x": {"path": "x.npy", "type": "float64"}},
//    "out": "DIR", "threads": 2, "repeat": 0, "keep": false}
//   -> {"outputs": {"y": "DIR/y.npy"}, "seconds": [...]}   or   {"error": "..."}
//
// Sessions are kept between requests for the same model, so that timed
// runs exclude loading and optimising the model.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const ort = require('onnxruntime-node');

// ---- .npy files (format 1.0-3.0, little-endian, C order) ----

const dtypes = {
  '<f8': { type: 'float64', array: Float64Array, size: 8 },
  '<f4': { type: 'float32', array: Float32Array, size: 4 },
  '<i8': { type: 'int64', array: BigInt64Array, size: 8 },
  '<i4': { type: 'int32', array: Int32Array, size: 4 },
  '|b1': { type: 'bool', array: Uint8Array, size: 1 },
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(`${file}: not a .npy file`);
  }
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: bad .npy header ${header}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran order is not supported`);
  const dt = dtypes[descr[1]];
  if (!dt) throw new Error(`${file}: dtype ${descr[1]} is not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length - start !== n * dt.size) {
    throw new Error(`${file}: shape (${dims}) needs ${n * dt.size} bytes of data, the file has ${buf.length - start}`);
  }
  // Copy into an aligned buffer of its own.
  const data = new dt.array(n);
  Buffer.from(data.buffer).set(buf.subarray(start, start + n * dt.size));
  return { type: dt.type, dims, data };
}

function writeNpy(file, tensor) {
  const descr = Object.keys(dtypes).find((k) => dtypes[k].type === tensor.type);
  if (!descr) throw new Error(`output type ${tensor.type} cannot be written as .npy`);
  const dims = tensor.dims.map(String);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

// toType converts an array read from .npy to the element type the model's
// input wants (the Go side writes float64 .npy files).
function toTensor(arr, type) {
  if (!type || type === arr.type) return new ort.Tensor(arr.type, arr.data, arr.dims);
  const conv = { float32: Float32Array, float64: Float64Array }[type];
  if (!conv || (arr.type !== 'float32' && arr.type !== 'float64')) {
    throw new Error(`cannot convert ${arr.type} input to ${type}`);
  }
  return new ort.Tensor(type, conv.from(arr.data), arr.dims);
}

// ---- sessions ----

// Sessions by thread count and model path. Sessions of timed runs
// ("keep") stay; of the others only the latest, so that checking many
// models one after the other holds one of them at a time.
const sessions = new Map();

async function session(model, threads, keep) {
  const key = `${threads}\x00${path.resolve(model)}`;
  for (const [k, e] of sessions) {
    if (k !== key && !e.keep) {
      sessions.delete(k);
      await e.s.release();
    }
  }
  let e = sessions.get(key);
  if (!e) {
    const s = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    e = { s, keep: false };
    sessions.set(key, e);
  }
  e.keep = e.keep || !!keep;
  return e.s;
}

// run runs one request: {model, inputs, out, threads, repeat, write, keep}.
async function run(req) {
  return runIn(await session(req.model, req.threads || 2, req.keep), req);
}

async function runIn(s, req) {
  const feeds = {};
  for (const [name, spec] of Object.entries(req.inputs || {})) {
    const inp = typeof spec === 'string' ? { path: spec } : spec;
    feeds[name] = toTensor(readNpy(inp.path), inp.type);
  }
  let results = await s.run(feeds);
  const seconds = [];
  if (req.repeat > 0) {
    for (let i = 0; i < req.repeat; i++) {
      const t0 = process.hrtime.bigint();
      results = await s.run(feeds);
      seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  const outputs = {};
  if (req.write !== false) {
    const dir = req.out || '.';
    for (const name of s.outputNames) {
      const file = path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.npy`);
      writeNpy(file, results[name]);
      outputs[name] = file;
    }
  }
  return { outputs, seconds };
}

async function serve() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let reply;
    try {
      reply = await run(JSON.parse(line));
    } catch (e) {
      reply = { error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
}

async function main(argv) {
  if (argv[0] === '--serve') return serve();
  if (argv[0] === '--version') {
    process.stdout.write(`onnxruntime-node ${ort.env.versions.node}\n`);
    return;
  }
  const req = { inputs: {}, out: '.', threads: 2, repeat: 0, keep: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') req.out = argv[++i];
    else if (a === '--threads') req.threads = Number(argv[++i]);
    else if (a === '--repeat') req.repeat = Number(argv[++i]);
    else if (a.includes('=') && req.model) {
      const j = a.indexOf('=');
      req.inputs[a.slice(0, j)] = a.slice(j + 1);
    } else if (!req.model) req.model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!req.model) {
    process.stderr.write('usage: node run.js MODEL.onnx NAME=IN.npy ... [--out DIR] [--threads N] [--repeat N]\n');
    process.exit(2);
  }
  // Inputs given as .npy take the model's element type.
  const s = await session(req.model, req.threads, true);
  for (const [name, file] of Object.entries(req.inputs)) {
    const meta = s.inputMetadata && s.inputMetadata.find ? s.inputMetadata.find((m) => m.name === name) : null;
    req.inputs[name] = { path: file, type: meta && meta.type };
  }
  const r = await run(req);
  for (const [name, file] of Object.entries(r.outputs)) process.stdout.write(`${name} -> ${file}\n`);
  if (req.repeat > 0) process.stdout.write(JSON.stringify({ seconds: r.seconds }) + '\n');
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`run.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
