// Times HjMl's exported ONNX graphs in ONNX Runtime (onnxruntime-node) on the same batches the .NET benchmarks score,
// for scripts/benchmarks.
// usage: node bench.js <plan.json> <results.json>
// plan.json (written by `HjMl.Benchmarks prepare`):
//   { "threads": [1, 2], "cases": [ { "name", "model": "<.onnx>", "inputs": "<float32 little-endian rows>",
//     "dimension": d, "pieces": N, "batches": [1, 1000, 100000], "scoreRows": 1000 } ] }
// results.json: { "runtime": "<version>", "results": [ { "name", "dimension", "pieces", "batch", "threads",
//   "medianSeconds", "runs", "error"? } ], "scores": { "<name>": [first scoreRows scores, 1 thread] } }
// Each (case, threads) gets its own session (intraOpNumThreads = threads, interOpNumThreads = 1, CPU provider, all
// graph optimisations); each batch is warmed up twice (once when a run takes over a second), then run until at least
// 5 runs and 0.5 s (at least 3 runs when a run takes over a second), and the median run time is reported. Only the
// Score output is fetched.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

// Only Score is fetched, so that ONNX Runtime runs only the nodes HjMl's ScoreBatch computes (not the sigmoid and
// comparison behind Probability and PredictedLabel).
const fetches = ['Score'];

async function timeRuns(session, feeds) {
  const first = process.hrtime.bigint();
  await session.run(feeds, fetches);
  const firstSeconds = Number(process.hrtime.bigint() - first) / 1e9;
  const slow = firstSeconds > 1;
  if (!slow) {
    await session.run(feeds, fetches);
  }
  const times = [];
  const start = process.hrtime.bigint();
  const minimumRuns = slow ? 3 : 5;
  while (times.length < minimumRuns || (Number(process.hrtime.bigint() - start) / 1e9 < 0.5 && times.length < 100000)) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds, fetches);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return { medianSeconds: times[Math.floor(times.length / 2)], runs: times.length };
}

function readRows(path, dimension) {
  const bytes = fs.readFileSync(path);
  // A Float32Array view needs 4-byte alignment; copy in the rare case the buffer is not aligned.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  const rows = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  if (rows.length % dimension !== 0) {
    throw new Error(`${path}: ${rows.length} values are not whole rows of ${dimension}`);
  }
  return rows;
}

async function main() {
  const [planPath, resultsPath] = process.argv.slice(2);
  if (!planPath || !resultsPath) {
    throw new Error('usage: node bench.js <plan.json> <results.json>');
  }
  const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
  const report = { runtime: ort.env.versions.common, results: [], scores: {} };
  let rowsPath = null;
  let rows = null;
  for (const testCase of plan.cases) {
    if (rowsPath !== testCase.inputs) {
      rows = null;
      rows = readRows(testCase.inputs, testCase.dimension);
      rowsPath = testCase.inputs;
    }
    for (const threads of plan.threads) {
      let session;
      try {
        session = await ort.InferenceSession.create(testCase.model, {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
        });
      } catch (problem) {
        report.results.push({ name: testCase.name, dimension: testCase.dimension, pieces: testCase.pieces, threads, error: String(problem) });
        continue;
      }
      for (const batch of testCase.batches) {
        const entry = { name: testCase.name, dimension: testCase.dimension, pieces: testCase.pieces, batch, threads };
        try {
          const input = rows.subarray(0, batch * testCase.dimension);
          const feeds = { Features: new ort.Tensor('float32', input, [batch, testCase.dimension]) };
          Object.assign(entry, await timeRuns(session, feeds));
          if (threads === plan.threads[0] && batch >= testCase.scoreRows && !(testCase.name in report.scores)) {
            const outputs = await session.run({ Features: new ort.Tensor('float32', rows.subarray(0, testCase.scoreRows * testCase.dimension), [testCase.scoreRows, testCase.dimension]) });
            report.scores[testCase.name] = Array.from(outputs.Score.data);
          }
        } catch (problem) {
          entry.error = String(problem);
        }
        report.results.push(entry);
        process.stderr.write(`ort ${testCase.name} batch ${batch} threads ${threads}: ${entry.error ? entry.error : (entry.medianSeconds * 1e3).toFixed(3) + ' ms'}\n`);
      }
      if (typeof session.release === 'function') {
        await session.release();
      }
    }
  }
  fs.writeFileSync(resultsPath, JSON.stringify(report, null, 1));
}

main().catch((problem) => {
  process.stderr.write(`bench.js: ${problem && problem.stack ? problem.stack : problem}\n`);
  process.exit(1);
});
