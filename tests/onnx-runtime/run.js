// Runs one ONNX model in ONNX Runtime and writes every output as JSON, for HjMl's tests.
// usage: node run.js <model.onnx> <inputs.json> <outputs.json> [--threads N]
// inputs.json: { "<input name>": { "type": "float32", "dims": [n, d], "data": [...] }, ... }
// outputs.json: { "runtime": "<version>", "outputs": { "<name>": { "type", "dims", "data" } } }
// Float data goes through JSON as decimal text that round-trips exactly: JavaScript numbers are doubles, and every
// float32 is a double, so writing and reading them loses nothing.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

function parseArguments(argv) {
  const positional = [];
  let threads = Number(process.env.HJML_ORT_THREADS || 1);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') {
      threads = Number(argv[++i]);
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 3 || !Number.isInteger(threads) || threads < 0) {
    throw new Error('usage: node run.js <model.onnx> <inputs.json> <outputs.json> [--threads N]');
  }
  return { model: positional[0], inputs: positional[1], outputs: positional[2], threads };
}

function toTensor(name, description) {
  const { type, dims, data } = description;
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(data), dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(data), dims);
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(data.map(BigInt)), dims);
    default:
      throw new Error(`input ${name}: unsupported type ${type}`);
  }
}

function fromTensor(tensor) {
  let data;
  if (tensor.type === 'int64') {
    data = Array.from(tensor.data, (value) => Number(value));
  } else if (tensor.type === 'bool') {
    data = Array.from(tensor.data, (value) => value !== 0 && value !== false);
  } else {
    data = Array.from(tensor.data);
  }
  return { type: tensor.type, dims: Array.from(tensor.dims), data };
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const session = await ort.InferenceSession.create(options.model, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const described = JSON.parse(fs.readFileSync(options.inputs, 'utf8'));
  const feeds = {};
  for (const name of Object.keys(described)) {
    feeds[name] = toTensor(name, described[name]);
  }
  const results = await session.run(feeds);
  const outputs = {};
  for (const name of session.outputNames) {
    outputs[name] = fromTensor(results[name]);
  }
  const report = { runtime: ort.env.versions.common, inputNames: session.inputNames, outputNames: session.outputNames, outputs };
  fs.writeFileSync(options.outputs, JSON.stringify(report));
  if (typeof session.release === 'function') {
    await session.release();
  }
}

main().catch((problem) => {
  process.stderr.write(`run.js: ${problem && problem.stack ? problem.stack : problem}\n`);
  process.exit(1);
});
