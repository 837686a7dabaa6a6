using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// A job made ready to execute: corpus tokenized, weights digested, units planned. Every node of a
/// cluster prepares the same job itself and gets the same unit keys, so units travel as keys.
/// </summary>
public sealed class PreparedRun
{
    public RunContext Context { get; }
    public JobPlan Plan { get; }
    public IReadOnlyList<WorkUnit> Units { get; }
    public IReadOnlyDictionary<string, WorkUnit> UnitsByKey { get; }
    /// <summary>The run's SAE state (published and trained SAEs) on the job's own device.</summary>
    public SaeRun Saes { get; }

    private PreparedRun(RunContext context, JobPlan plan, IReadOnlyList<WorkUnit> units)
    {
        Context = context; Plan = plan; Units = units;
        UnitsByKey = units.ToDictionary(u => u.Key);
        Saes = new SaeRun(context);
    }

    public static PreparedRun Prepare(JobSpec spec, long runId)
    {
        var store = Path.GetFullPath(spec.Output.Store);
        var corpus = LoadCorpus(spec);
        var weights = spec.Models.ToDictionary(m => m.Name, m => m.Descriptor.ComputeWeightsDigest());
        var plan = JobPlanner.Plan(spec, corpus, weights);
        return new PreparedRun(new RunContext(runId, spec, corpus, weights, store), plan, UnitPlanner.Plan(spec, plan, corpus.Primary));
    }

    /// <summary>
    /// The executor of one worker on <paramref name="device"/>: model work (capture, SAE training) runs on that device,
    /// reductions need no device.
    /// </summary>
    public IUnitExecutor CreateExecutor(string device) => new UnitExecutor(this, device);

    /// <summary>The same run with its models placed on <paramref name="device"/> (one capture worker per device).</summary>
    public RunContext ContextOn(string device) =>
        device == Context.Spec.Execution.Device ? Context : new RunContext(Context.RunId,
            Context.Spec with { Execution = Context.Spec.Execution with { Device = device } },
            Context.Tokenizations, Context.WeightsDigests, Context.StoreDirectory);

    private static CorpusTokenizations LoadCorpus(JobSpec spec)
    {
        try { return CorpusLoader.LoadAll(spec); }
        catch (JobValidationException e) { throw new InvalidDataException(string.Join("; ", e.Errors), e); }
    }
}
