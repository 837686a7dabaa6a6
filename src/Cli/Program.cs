using System.CommandLine;
using Sweep.Cli.Commands;

var root = new RootCommand("Sweep: capture language-model activations and compare models, from a YAML job.");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(DatabaseCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(NodeCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
root.Subcommands.Add(FeaturesCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
return await root.Parse(args).InvokeAsync();
