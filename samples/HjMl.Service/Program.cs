// HjMl.Service: an ASP.NET Core minimal API scoring a saved ML.NET pipeline with HjMl's explanations (docs/service.md).
//
//   dotnet run --project samples/HjMl.Service -c Release -- --model model.zip [--urls http://127.0.0.1:5080]
//   dotnet run --project samples/HjMl.Service -c Release -- train --data ../shared/data/adult.csv --out model.zip
//
// POST /predict and POST /explain take one row (a JSON object of column name → value) or an array of them; GET /health
// and GET /model say what is served. The model file is reloaded when it changes, with no failed request.
using HjMl.Service;
using HjMl.Service.Training;

if (args is ["train", .. var trainArguments])
{
    return TrainCommand.Run(trainArguments, Console.Out, Console.Error);
}

WebApplication app = ServiceApplication.Build(args);
await app.RunAsync();
return 0;
