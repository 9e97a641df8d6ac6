using BenchmarkDotNet.Running;
using HjMl.Benchmarks;

// dotnet run -c Release --project tests/HjMl.Benchmarks -- --filter '*'   (BenchmarkDotNet's own switches apply)
// scripts/benchmarks drives the whole suite through two more verbs:
//   roofline <folder>          the machine's sgemm and exp rates, to <folder>/roofline.json
//   report <folder> <file.md>  docs/benchmarks.md from the run's artifacts in <folder>
// scripts/peers/paper (issue 20's training bar) through one more:
//   exp-rate <threads>         HjMl's float32 exponential rate in Gexp/s on that many threads, the last line printed
// scripts/flow-benchmarks (issue 15's flow bars) through four more:
//   flow-prepare <folder>            the PyTorch peer's inputs: the mnist split, HjMl's standardisation, case.json
//   flow-accuracy <folder>           HjMl trained 5 epochs: losses, test accuracy, model.hjml and model.onnx
//   flow-profile <file.json>         where an epoch's and a 10000-row scoring's time goes (one thread, CPU time)
//   flow-report <folder> <file.md>   docs/flow-benchmarks.md from the run's artifacts in <folder>
switch (args.FirstOrDefault())
{
    case "roofline" when args.Length == 2:
        Roofline.Measure(Path.Combine(args[1], "roofline.json"));
        break;
    case "flow-prepare" when args.Length == 2:
        Console.WriteLine(FlowCase.WritePeerInputs(args[1]));
        break;
    case "flow-profile" when args.Length == 2:
        FlowProfile.Measure(args[1]);
        break;
    case "flow-accuracy" when args.Length == 2:
        FlowAccuracy.Run(args[1]);
        break;
    case "flow-report" when args.Length == 3:
        FlowReport.Write(args[1], args[2]);
        break;
    case "exp-rate" when args.Length == 2:
        Console.WriteLine((Roofline.FloatExponentialRate(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture)) / 1e9).ToString("F3", System.Globalization.CultureInfo.InvariantCulture));
        break;
    case "report" when args.Length == 3:
        BenchmarkReport.Write(args[1], args[2]);
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        break;
}
