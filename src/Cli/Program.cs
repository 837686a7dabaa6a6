using System.CommandLine;
using Sweep.Actors.Hosting;
using Sweep.Cli.Commands;

// Before any tensor exists: libtorch reads this once, at its first allocation.
Sweep.Models.LibTorchMemory.UseHugePages();
var root = new RootCommand("Sweep: capture language-model activations and compare models, from a YAML job.");
var verbose = new Option<bool>("--verbose") { Description = "also print Akka's own log (connections, cluster membership) on stderr", Recursive = true };
var logFile = new Option<string?>("--log-file") { Description = "append Akka's own log to FILE instead", Recursive = true };
root.Options.Add(verbose);
root.Options.Add(logFile);
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
var parse = root.Parse(args);
// A mistake on the command line is one line per problem, not the whole help page.
if (parse.Errors.Count > 0 && args.Length > 0) return CommandLineErrors.Print(parse);
AkkaLogging.Configure(parse.GetValue(verbose), parse.GetValue(logFile));
// Sweep handles SIGINT and SIGTERM itself (Interrupts): System.CommandLine's own handling would end the process two
// seconds after the first signal, in the middle of a run's cleanup.
using var interrupts = Interrupts.Listen();
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, interrupts.Token);
