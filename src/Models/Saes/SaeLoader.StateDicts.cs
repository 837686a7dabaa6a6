using System.Collections;
using System.Text.RegularExpressions;
using Sweep.Models.Checkpoints;

namespace Sweep.Models.Saes;

/// <summary>
/// SAEs saved as bare tensors: Gemma Scope's <c>params.npz</c> and PyTorch state dicts (<c>*.pt</c>/<c>*.pth</c>).
/// Both are read as a name → tensor map in one of two layouts:
/// <code>
/// SAELens names   W_enc [d_in, d_sae]  b_enc [d_sae]  W_dec [d_sae, d_in]  b_dec [d_in]  (threshold | log_threshold [d_sae])
/// nn.Linear names encoder.weight [d_sae, d_in]  encoder.bias [d_sae]?  decoder.weight [d_in, d_sae]  decoder.bias [d_in]?
///                 b_dec [d_in]?  (threshold | log_threshold [d_sae])
/// </code>
/// In the nn.Linear layout the names decide the biases: <c>b_dec</c> is subtracted before the encoder and added after the
/// decoder (f = act(encoder(x − b_dec)), x̂ = decoder(f) + b_dec); without it <c>decoder.bias</c> is only added after the
/// decoder (f = act(encoder(x)), x̂ = decoder(f)). Both at once is refused (two decoder biases are not an SAE Sweep knows).
/// </summary>
public static partial class SaeLoader
{
    private enum StateDictLayout { SaeLensNames, LinearNames }

    /// <summary>The recognised layout of a state dict and the sizes its shapes give.</summary>
    private sealed record StateDictShape(StateDictLayout Layout, int DIn, int DSae, string Dtype, string? Threshold, bool HasPreBias, bool HasDecoderBias, bool HasEncoderBias);

    private static readonly string[] SaeLensNames = ["W_enc", "b_enc", "W_dec", "b_dec"];
    private static readonly string[] ThresholdNames = ["threshold", "log_threshold"];

    private static StateDictShape RecognizeStateDict(IReadOnlyDictionary<string, TensorInfo> tensors, string file)
    {
        foreach (var (name, t) in tensors)
            if (!t.IsFloat) throw new SaeLoadException($"{file}: tensor '{name}' is {t.Dtype}, expected float32, float16 or bfloat16 SAE weights");
        TensorInfo? Get(string name) => tensors.GetValueOrDefault(name);
        long[] Dims(string name, int rank)
        {
            var t = Get(name) ?? throw new SaeLoadException($"{file}: tensor '{name}' is missing, expected {Expected()}");
            return t.Shape.Length == rank ? t.Shape
                : throw new SaeLoadException($"{file}: tensor '{name}' has shape {t.ShapeText}, expected {rank} dimension(s)");
        }
        void Expect(string name, params long[] shape)
        {
            if (Get(name) is { } t && !t.HasShape(shape))
                throw new SaeLoadException($"{file}: tensor '{name}' has shape {t.ShapeText}, expected [{string.Join(", ", shape)}]");
        }
        string Expected() => "SAELens names (W_enc, b_enc, W_dec, b_dec, threshold for JumpReLU) or nn.Linear names (encoder.weight, encoder.bias, decoder.weight, decoder.bias or b_dec)";

        StateDictLayout layout;
        long dIn, dSae;
        var allowed = new HashSet<string>(ThresholdNames, StringComparer.Ordinal);
        if (tensors.ContainsKey("W_enc") || tensors.ContainsKey("W_dec"))
        {
            layout = StateDictLayout.SaeLensNames;
            var enc = Dims("W_enc", 2);
            (dIn, dSae) = (enc[0], enc[1]);
            foreach (var name in SaeLensNames) Dims(name, name.StartsWith('W') ? 2 : 1);
            Expect("W_dec", dSae, dIn); Expect("b_enc", dSae); Expect("b_dec", dIn);
            allowed.UnionWith(SaeLensNames);
        }
        else if (tensors.ContainsKey("encoder.weight") || tensors.ContainsKey("decoder.weight"))
        {
            layout = StateDictLayout.LinearNames;
            var enc = Dims("encoder.weight", 2);
            (dSae, dIn) = (enc[0], enc[1]);
            Dims("decoder.weight", 2);
            Expect("decoder.weight", dIn, dSae); Expect("encoder.bias", dSae); Expect("decoder.bias", dIn); Expect("b_dec", dIn);
            if (tensors.ContainsKey("decoder.bias") && tensors.ContainsKey("b_dec"))
                throw new SaeLoadException($"{file}: both decoder.bias and b_dec are present, expected one of them (b_dec: subtracted from the input and added to the output; decoder.bias: added to the output only)");
            allowed.UnionWith(["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias", "b_dec"]);
        }
        else throw new SaeLoadException($"{file}: tensors {string.Join(", ", tensors.Keys.Order(StringComparer.Ordinal))} are not an SAE layout Sweep knows, expected {Expected()}");

        var extra = tensors.Keys.Where(k => !allowed.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new SaeLoadException($"{file}: unexpected tensor(s) {string.Join(", ", extra)} (another SAE architecture?), expected only {string.Join(", ", allowed.Where(tensors.ContainsKey).Order(StringComparer.Ordinal))}");
        if (tensors.ContainsKey("threshold") && tensors.ContainsKey("log_threshold"))
            throw new SaeLoadException($"{file}: both threshold and log_threshold are present, expected one");
        string? threshold = ThresholdNames.FirstOrDefault(tensors.ContainsKey);
        if (threshold is not null) Expect(threshold, dSae);
        if (dIn > int.MaxValue || dSae > int.MaxValue) throw new SaeLoadException($"{file}: d_in {dIn} x d_sae {dSae} is too large");
        var dtype = tensors[layout == StateDictLayout.SaeLensNames ? "W_dec" : "decoder.weight"].Dtype;
        return new StateDictShape(layout, (int)dIn, (int)dSae, dtype, threshold,
            tensors.ContainsKey("b_dec") && layout == StateDictLayout.LinearNames, tensors.ContainsKey("decoder.bias"), tensors.ContainsKey("encoder.bias"));
    }

    /// <summary>The SAE's weights in SAELens' conventions, from a state dict of a recognised layout.</summary>
    private static SparseAutoencoder BuildFromStateDict(SaeConfig config, StateDictShape shape, IReadOnlyDictionary<string, HostTensor> t, string device)
    {
        int dIn = shape.DIn, dSae = shape.DSae;
        float[]? threshold = shape.Threshold switch
        {
            "threshold" => t["threshold"].Values,
            "log_threshold" => t["log_threshold"].Values.Select(MathF.Exp).ToArray(),
            _ => null,
        };
        if (shape.Layout == StateDictLayout.SaeLensNames)
            return new SparseAutoencoder(config, t["W_enc"].Values, t["b_enc"].Values, t["W_dec"].Values, t["b_dec"].Values, threshold, device);
        // nn.Linear stores weight as out x in; SAELens' W_enc (d_in x d_sae) and W_dec (d_sae x d_in) are the transposes.
        var bDec = shape.HasPreBias ? t["b_dec"].Values : shape.HasDecoderBias ? t["decoder.bias"].Values : new float[dIn];
        return new SparseAutoencoder(config, Transpose(t["encoder.weight"].Values, dSae, dIn),
            shape.HasEncoderBias ? t["encoder.bias"].Values : new float[dSae], Transpose(t["decoder.weight"].Values, dIn, dSae), bDec, threshold, device);
    }

    // ---------------------------------------------------------------- Gemma Scope params.npz

    /// <summary>
    /// Gemma Scope's JumpReLU SAEs (google/gemma-scope-*): <c>{release}/layer_{N}/width_{W}/average_l0_{L}/params.npz</c> with
    /// W_enc, W_dec, b_enc, b_dec and threshold (lower-case <c>w_enc</c>/<c>w_dec</c> are accepted, as SAELens does).
    /// Their encoder does not subtract b_dec (SAELens: apply_b_dec_to_input false). The hook and model come from the path.
    /// </summary>
    private static SaeFolder DescribeGemmaScope(string file)
    {
        var tensors = GemmaScopeNames(ReadNpzInfo(file), file);
        var shape = RecognizeStateDict(tensors, file);
        if (shape.Layout != StateDictLayout.SaeLensNames || shape.Threshold != "threshold")
            throw new SaeLoadException($"{file}: expected Gemma Scope's arrays W_enc, W_dec, b_enc, b_dec and threshold");
        var (hook, model) = GemmaScopeLocation(file);
        var config = new SaeConfig
        {
            Format = SaeFormat.GemmaScope, Architecture = SaeArchitecture.JumpRelu, DIn = shape.DIn, DSae = shape.DSae,
            ApplyBDecToInput = false, HookName = hook, ModelName = model, Dtype = shape.Dtype,
        };
        return new SaeFolder(file, config, null, file);
    }

    private static SparseAutoencoder LoadGemmaScope(SaeFolder folder, string device)
    {
        IReadOnlyDictionary<string, HostTensor> arrays;
        try { arrays = NumpyArchive.ReadNpz(folder.WeightsFile); }
        catch (ModelLoadException e) { throw new SaeLoadException(e.Message, e); }
        var tensors = GemmaScopeNames(arrays, folder.WeightsFile);
        return BuildFromStateDict(folder.Config, RecognizeStateDict(tensors.ToDictionary(p => p.Key, p => p.Value.Info), folder.WeightsFile), tensors, device);
    }

    private static IReadOnlyDictionary<string, T> GemmaScopeNames<T>(IReadOnlyDictionary<string, T> arrays, string file)
    {
        var renamed = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var (name, value) in arrays)
        {
            var key = name.StartsWith("w_", StringComparison.Ordinal) ? "W_" + name[2..] : name;
            if (!renamed.TryAdd(key, value)) throw new SaeLoadException($"{file}: arrays '{key}' and '{name}' are both present, expected one");
        }
        return renamed;
    }

    private static IReadOnlyDictionary<string, TensorInfo> ReadNpzInfo(string file)
    {
        try { return NumpyArchive.ReadNpzInfo(file); }
        catch (ModelLoadException e) { throw new SaeLoadException(e.Message, e); }
    }

    /// <summary>
    /// The hook and model a Gemma Scope path names: <c>layer_N</c> is the block, and a folder named after the release
    /// (<c>gemma-scope-2b-pt-res</c>, as the Hugging Face repository is named and downloads keep it) says which hook and
    /// model: <c>-res</c> → <c>blocks.N.hook_resid_post</c>, <c>-mlp</c> → <c>blocks.N.hook_mlp_out</c>; <c>2b</c>/<c>9b</c>/<c>27b</c>
    /// and <c>pt</c>/<c>it</c> → <c>gemma-2-2b</c>, <c>gemma-2-9b-it</c>, …. Without a recognisable release folder the hook and
    /// model are unknown and the job's <c>site</c> is taken as given.
    /// </summary>
    private static (string? Hook, string? Model) GemmaScopeLocation(string file)
    {
        var parts = Path.GetFullPath(file).Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var release = parts.Select(p => GemmaScopeRelease().Match(p)).LastOrDefault(m => m.Success);
        var layer = parts.Select(p => LayerFolder().Match(p)).LastOrDefault(m => m.Success);
        if (parts.Any(p => p.Equals("embedding", StringComparison.OrdinalIgnoreCase)))
            throw new SaeLoadException($"{file}: Gemma Scope embedding SAEs are not supported (they read hook_embed rescaled by sqrt(d_model)), expected a layer_N SAE");
        if (release is null) return (null, null);
        var kind = release.Groups["kind"].Value.ToLowerInvariant();
        if (kind is "att" or "transcoders")
            throw new SaeLoadException($"{file}: Gemma Scope '{release.Value}' SAEs are not supported ({(kind == "att" ? "they read the attention heads' concatenated outputs, hook_z" : "transcoders map the MLP input to its output")}), expected a -res or -mlp release");
        string model = $"gemma-2-{release.Groups["size"].Value.ToLowerInvariant()}" + (release.Groups["tuning"].Value.Equals("it", StringComparison.OrdinalIgnoreCase) ? "-it" : "");
        if (layer is null) return (null, model);
        int n = int.Parse(layer.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return (kind == "mlp" ? Hooks.HookPoints.MlpOut(n) : Hooks.HookPoints.ResidPost(n), model);
    }

    [GeneratedRegex(@"gemma-scope-(?<size>2b|9b|27b)-(?<tuning>pt|it)-(?<kind>res|mlp|att|transcoders)", RegexOptions.IgnoreCase)]
    private static partial Regex GemmaScopeRelease();

    [GeneratedRegex(@"^layer_(\d+)$")]
    private static partial Regex LayerFolder();

    // ---------------------------------------------------------------- PyTorch state dicts

    /// <summary>Keys under which training scripts commonly nest the state dict beside optimizer state and step counts.</summary>
    private static readonly string[] NestedStateDictKeys = ["state_dict", "model_state_dict", "sae"];

    /// <summary>
    /// A PyTorch state dict: the architecture (and k, and apply_b_dec_to_input for SAELens names) come from a
    /// SAELens-style <c>cfg.json</c> beside the file when there is one, else from the job.
    /// </summary>
    private static SaeFolder DescribePyTorch(string file, SaeJobSettings? job)
    {
        var shape = RecognizeStateDict(PyTorchStateDict(file, values: false).ToDictionary(p => p.Key, p => (TensorInfo)p.Value), file);
        var cfgPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, SaeLensConfig);
        SaeConfig config;
        if (File.Exists(cfgPath))
        {
            if (job is { IsEmpty: false })
                throw new SaeLoadException($"{cfgPath}: gives the SAE's architecture, so the job must not set architecture, k or apply_b_dec_to_input");
            config = ReadSaeLensConfig(cfgPath) with { Format = SaeFormat.PyTorch };
            if (config.DIn != shape.DIn || config.DSae != shape.DSae)
                throw new SaeLoadException($"{cfgPath}: d_in {config.DIn} and d_sae {config.DSae} do not match the tensors of {file} (d_in {shape.DIn}, d_sae {shape.DSae})");
            if (shape.Layout == StateDictLayout.LinearNames) config = config with { ApplyBDecToInput = shape.HasPreBias };
        }
        else
        {
            var architecture = job?.Architecture
                ?? throw new SaeLoadException($"{file}: a state dict does not record its architecture and there is no cfg.json beside it, expected the job to give architecture (standard, topk or jumprelu) or a SAELens cfg.json");
            bool applyBDec;
            if (shape.Layout == StateDictLayout.SaeLensNames)
                applyBDec = job.ApplyBDecToInput
                    ?? throw new SaeLoadException($"{file}: SAELens-named tensors do not record whether b_dec is subtracted from the input, expected the job to give apply_b_dec_to_input (true or false) or a SAELens cfg.json");
            else if (job.ApplyBDecToInput is not null)
                throw new SaeLoadException($"{file}: in the nn.Linear layout the tensor names decide the biases (b_dec is subtracted, decoder.bias is not), so the job must not set apply_b_dec_to_input");
            else applyBDec = shape.HasPreBias;
            if (architecture == SaeArchitecture.TopK && job.K is null)
                throw new SaeLoadException($"{file}: a TopK SAE needs k, expected the job to give k");
            if (architecture != SaeArchitecture.TopK && job.K is not null)
                throw new SaeLoadException($"{file}: k is given for a {SaeConfig.Names.Of(architecture)} SAE, expected k only with architecture topk");
            config = new SaeConfig
            {
                Format = SaeFormat.PyTorch, Architecture = architecture, DIn = shape.DIn, DSae = shape.DSae, K = job.K, ApplyBDecToInput = applyBDec,
            };
        }
        if (config.Architecture == SaeArchitecture.JumpRelu && shape.Threshold is null)
            throw new SaeLoadException($"{file}: a JumpReLU SAE needs tensor 'threshold' (or 'log_threshold') [{shape.DSae}]");
        if (config.Architecture != SaeArchitecture.JumpRelu && shape.Threshold is { } t)
            throw new SaeLoadException($"{file}: tensor '{t}' belongs to a JumpReLU SAE, but the architecture is {config.ArchitectureName}");
        if (config.K > config.DSae) throw new SaeLoadException($"{file}: k = {config.K} exceeds d_sae = {config.DSae}");
        return new SaeFolder(file, config with { Dtype = shape.Dtype }, File.Exists(cfgPath) ? cfgPath : null, file, job);
    }

    private static SparseAutoencoder LoadPyTorch(SaeFolder folder, string device)
    {
        var file = folder.WeightsFile;
        var raw = PyTorchStateDict(file, values: true);
        // Non-float tensors come back as TensorInfo only; recognising first refuses them by name.
        var shape = RecognizeStateDict(raw.ToDictionary(p => p.Key, p => p.Value as TensorInfo ?? ((HostTensor)p.Value).Info), file);
        var tensors = raw.ToDictionary(p => p.Key, p => (HostTensor)p.Value);
        if (shape.DIn != folder.Config.DIn || shape.DSae != folder.Config.DSae)
            throw new SaeLoadException($"{file}: changed since the job was validated (d_in {shape.DIn}, d_sae {shape.DSae})");
        return BuildFromStateDict(folder.Config, shape, tensors, device);
    }

    /// <summary>The name → tensor map of a checkpoint: the pickled dict itself, or the one nested under a known key.</summary>
    private static IReadOnlyDictionary<string, object> PyTorchStateDict(string file, bool values)
    {
        object root;
        try { root = PyTorchCheckpoint.Read(file, values); }
        catch (ModelLoadException e) { throw new SaeLoadException(e.Message, e); }
        static bool IsTensor(object? v) => v is HostTensor or TensorInfo;
        if (root is not IDictionary top)
            throw new SaeLoadException($"{file}: the checkpoint holds a {root?.GetType().Name ?? "None"}, expected a state dict (torch.save(sae.state_dict(), path))");
        var dict = top;
        if (!top.Values.Cast<object?>().All(IsTensor))
        {
            var nested = NestedStateDictKeys.Where(k => top.Contains(k) && top[k] is IDictionary d && d.Values.Cast<object?>().All(IsTensor)).ToList();
            if (nested.Count != 1)
                throw new SaeLoadException($"{file}: the checkpoint's keys ({string.Join(", ", top.Keys.Cast<object>().Select(k => k.ToString()).Order(StringComparer.Ordinal))}) are not all tensors, expected a state dict at the top level or under one of {string.Join(", ", NestedStateDictKeys)}");
            dict = (IDictionary)top[nested[0]]!;
        }
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in dict) result[e.Key.ToString()!] = e.Value!;
        return result;
    }
}
