using System.Text.RegularExpressions;
using Sweep.Models;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>The <c>execution</c> section: device, precision, batch size, workers, retries and leases.</summary>
public static partial class JobLoader
{
    private static readonly string[] ExecutionKeys = ["device", "dtype", "batch_size", "workers", "max_attempts", "lease_seconds"];
    private static readonly Dictionary<string, ActivationDtype> Dtypes = new()
    {
        ["float32"] = ActivationDtype.Float32, ["bfloat16"] = ActivationDtype.BFloat16, ["float16"] = ActivationDtype.Float16,
    };

    [GeneratedRegex(@"^(auto|cpu|cuda(:[0-9]+)?)$")]
    private static partial Regex DevicePattern();

    private static ExecutionSpec? ReadExecution(YamlNode node, ErrorSink errors)
    {
        if (errors.Mapping(node, "execution", ExecutionKeys) is not { } e) return null;
        int before = errors.Errors.Count;
        var device = e.String("device", "auto, cpu or cuda:N");
        if (device is not null && !DevicePattern().IsMatch(device))
            errors.At(e["device"]!, $"execution.device is '{device}', expected auto, cpu or cuda:N (N a GPU index){Hint(device, ["auto", "cpu", "cuda:0"])}");
        var dtype = e.Choice("dtype", Dtypes);
        if (device == "cpu" && dtype is ActivationDtype.BFloat16 or ActivationDtype.Float16)
            errors.At(e["dtype"]!, $"execution.dtype is '{SpecNames.Of(dtype.Value)}' but execution.device is cpu, expected float32 on cpu (reduced precision runs on CUDA only: use device cuda:N or auto)");
        var batch = e.Int("batch_size", 1, "a positive integer (sequences per forward pass)");
        var workers = e.Int("workers", 1, "a positive integer (capture workers)");
        var maxAttempts = e.Int("max_attempts", 1, "a positive integer (tries per unit before the run fails)");
        var leaseSeconds = e.Int("lease_seconds", 1, "a positive integer (seconds a unit may go without a worker's heartbeat)");
        if (errors.Errors.Count > before) return null;
        return new ExecutionSpec
        {
            Device = device == "cuda" ? "cuda:0" : device ?? "auto",
            Dtype = dtype ?? ActivationDtype.Float32,
            BatchSize = batch ?? 8,
            Workers = workers ?? 1,
            MaxAttempts = maxAttempts ?? ExecutionSpec.DefaultMaxAttempts,
            LeaseSeconds = leaseSeconds ?? ExecutionSpec.DefaultLeaseSeconds,
        };
    }
}
