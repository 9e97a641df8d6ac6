using BenchmarkDotNet.Running;
using HjMl.Benchmarks;

// dotnet run -c Release --project tests/HjMl.Benchmarks -- --filter '*'   (BenchmarkDotNet's own switches apply)
// scripts/benchmarks drives the whole suite through three more verbs:
//   prepare <folder>           grid models as ONNX, their float32 rows, and the plan tests/onnx-runtime/bench.js times
//   roofline <folder>          the machine's sgemm and exp rates, to <folder>/roofline.json
//   report <folder> <file.md>  docs/benchmarks.md from the run's artifacts in <folder>
switch (args.FirstOrDefault())
{
    case "prepare" when args.Length == 2:
        Console.WriteLine(OnnxRuntimePlan.Prepare(args[1]));
        break;
    case "roofline" when args.Length == 2:
        Roofline.Measure(Path.Combine(args[1], "roofline.json"));
        break;
    case "report" when args.Length == 3:
        BenchmarkReport.Write(args[1], args[2]);
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        break;
}
