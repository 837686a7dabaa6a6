using Sweep.Models.Checkpoints;
using static TorchSharp.torch;

namespace Sweep.Models.Architectures;

/// <summary>
/// Reads a checkpoint's tensors for one architecture: each by its HF name with its expected shape, converted to
/// the model dtype on the model device one at a time. Remembers what it loaded (to dispose it if loading fails)
/// and what it read, so that a tensor the architecture never reads (a bias, an extra norm: a variant it would
/// compute wrongly) is refused.
/// </summary>
public sealed class WeightReader : IDisposable
{
    private readonly SafeTensorsCheckpoint _checkpoint;
    private readonly Device _device;
    private readonly ScalarType _dtype;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private bool _succeeded;

    public List<Tensor> Loaded { get; } = [];

    /// <summary>The prefix the checkpoint's names carry ("" or e.g. "transformer."), see <see cref="DetectPrefix"/>.</summary>
    public string Prefix { get; private set; } = "";

    public WeightReader(ModelDescriptor descriptor, Device device, ScalarType dtype)
    {
        _checkpoint = new SafeTensorsCheckpoint(descriptor.WeightFiles);
        _device = device; _dtype = dtype;
    }

    public bool Contains(string name) => _checkpoint.Contains(Prefix + name);

    public bool ContainsExact(string fullName) => _checkpoint.Contains(fullName);

    /// <summary>Uses <paramref name="prefix"/> for later names when the checkpoint holds <paramref name="probe"/> under it (GPT-2 is saved both ways).</summary>
    public void DetectPrefix(string prefix, string probe)
    {
        if (_checkpoint.Contains(prefix + probe)) Prefix = prefix;
    }

    /// <summary>Tensor <see cref="Prefix"/> + <paramref name="name"/>, which must have <paramref name="shape"/>.</summary>
    public Tensor Read(string name, params long[] shape) => ReadExact(Prefix + name, shape);

    /// <summary>Tensor <paramref name="fullName"/> (no prefix added).</summary>
    public Tensor ReadExact(string fullName, params long[] shape)
    {
        var t = _checkpoint.Load(fullName, shape, _dtype, _device);
        _used.Add(fullName);
        Loaded.Add(t);
        return t;
    }

    /// <summary>Accepts tensor <paramref name="fullName"/> (when present) without reading it, e.g. a saved copy of a tied weight.</summary>
    public void Ignore(string fullName) => _used.Add(fullName);

    /// <summary>
    /// Refuses tensors not read, except buffers transformers used to save (<paramref name="ignoredSuffixes"/>, e.g.
    /// rotary inv_freq and causal-mask "attn.bias"), naming the first and the architecture.
    /// </summary>
    public void CheckAllUsed(string architecture, string hfClass, params string[] ignoredSuffixes)
    {
        var unused = _checkpoint.Names
            .Where(n => !_used.Contains(n) && !ignoredSuffixes.Any(s => n.EndsWith(s, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
            throw new ModelLoadException($"{_checkpoint.FileOf(unused[0])}: tensor '{unused[0]}'{(unused.Count > 1 ? $" (and {unused.Count - 1} more)" : "")} is not used by the {architecture} architecture (a variant with extra weights?), expected only the tensors of {hfClass}");
        _succeeded = true;
    }

    /// <summary>Closes the files; when loading did not get to <see cref="CheckAllUsed"/>, also frees what was loaded.</summary>
    public void Dispose()
    {
        _checkpoint.Dispose();
        if (!_succeeded) foreach (var t in Loaded) t.Dispose();
    }
}
