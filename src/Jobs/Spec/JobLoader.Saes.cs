using System.Globalization;
using System.Text;
using Sweep.Models.Hooks;
using Sweep.Models.Saes;
using Sweep.Models.Saes.Training;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>The <c>saes</c> and <c>train_sae</c> sections: published SAEs attached to captured sites, and SAEs to train.</summary>
public static partial class JobLoader
{
    private static readonly string[] SaeKeys = ["name", "path", "model", "site", "check_model", "architecture", "k", "apply_b_dec_to_input", "neuronpedia_id"];
    private static readonly Dictionary<string, SaeArchitecture> SaeArchitectures = new()
    {
        ["standard"] = SaeArchitecture.Standard, ["relu"] = SaeArchitecture.Standard, ["topk"] = SaeArchitecture.TopK, ["jumprelu"] = SaeArchitecture.JumpRelu,
    };
    private static readonly string[] TrainSaeKeys =
    [
        "name", "model", "site", "d_sae", "expansion_factor", "k", "steps", "batch_size", "learning_rate", "warmup_steps",
        "decay_fraction", "aux_k", "aux_k_coefficient", "dead_after_tokens", "shuffle_buffer", "seed", "metrics_every", "checkpoint_every",
    ];

    public const int DefaultExpansionFactor = 8;

    private static (List<SaeSpec> Saes, List<TrainSaeSpec> Train) ReadSaeSections(YamlSection root, string baseDir, List<CaptureSpec>? captures,
        ModelTable? models, ErrorSink errors)
    {
        var names = new Dictionary<string, YamlNode>();
        var saes = new List<SaeSpec>();
        var train = new List<TrainSaeSpec>();
        if (root["saes"] is { } saesNode && saesNode is not YamlSequenceNode { Children.Count: 0 }
            && errors.List(saesNode, "saes", "SAEs ({name, path, model, site})") is { } items)
            for (int i = 0; i < items.Count; i++)
                if (ReadSae(items[i], $"saes[{i}]", baseDir, captures, models, names, errors) is { } sae) saes.Add(sae);
        if (root["train_sae"] is { } trainNode && trainNode is not YamlSequenceNode { Children.Count: 0 }
            && errors.List(trainNode, "train_sae", "SAEs to train ({name, model, site, k})") is { } trainItems)
            for (int i = 0; i < trainItems.Count; i++)
                if (ReadTrainSae(trainItems[i], $"train_sae[{i}]", captures, models, names, errors) is { } t) train.Add(t);
        return (saes, train);
    }

    private static SaeSpec? ReadSae(YamlNode node, string path, string baseDir, List<CaptureSpec>? captures, ModelTable? models,
        Dictionary<string, YamlNode> names, ErrorSink errors)
    {
        if (errors.Mapping(node, path, SaeKeys) is not { } s) return null;
        int before = errors.Errors.Count;
        var name = ReadSaeName(s, path, names, errors);
        var (model, site) = ReadSaeSite(s, path, captures, models, errors);
        bool checkModel = ReadBool(s, "check_model", errors) ?? true;
        var neuronpedia = ReadNeuronpediaId(s, path, errors);
        // Only a PyTorch state dict without a cfg.json needs these; the loader refuses them for SAEs whose files say.
        int beforeSettings = errors.Errors.Count;
        var settings = new SaeJobSettings(s.Choice("architecture", SaeArchitectures), s.Int("k", 1, "an integer >= 1 (active features per token of a TopK SAE)"),
            ReadBool(s, "apply_b_dec_to_input", errors));

        const string folderExpected = "an SAE folder (SAELens cfg.json + sae_weights.safetensors, sparsify cfg.json + sae.safetensors, temporal conf.yaml + *.safetensors, Gemma Scope params.npz) or a .npz/.pt/.pth file";
        var raw = s.String("path", folderExpected, required: true);
        SaeLoader.SaeFolder? folder = null;
        if (raw is not null && errors.Errors.Count == beforeSettings)
        {
            try { folder = SaeLoader.Describe(Resolve(baseDir, raw), settings.IsEmpty ? null : settings); }
            catch (SaeLoadException e) { errors.At(s["path"]!, $"{path}.path: {OneLine(e.Message)}"); }
        }
        if (folder is not null && model is not null && site is not null)
        {
            var config = folder.Config;
            int width = model.Descriptor.HiddenSize;
            if (config.DIn != width)
                errors.At(s["path"]!, $"{path}.path: the SAE's d_in is {config.DIn} but '{model.Name}' {site} is {width} wide, expected an SAE trained on this site");
            if (config.HookName is { } hook && hook != site)
                errors.At(s["site"]!, $"{path}.site '{site}' is not the SAE's hook_name '{hook}' ({folder.ConfigFile ?? "from the folder layout of " + folder.WeightsFile}), expected the hook point the SAE was trained on");
            if (checkModel && config.ModelName is { } trainedOn && !ModelMatches(trainedOn, model))
                errors.At(s["model"]!, $"{path}.model '{model.Name}' ({model.Path}) is not the SAE's model_name '{trainedOn}', expected that model (or check_model: false when the names differ but the weights are the same)");
        }
        if (errors.Errors.Count > before || name is null || model is null || site is null || folder is null) return null;
        return new SaeSpec { Name = name, Path = folder.Directory, Model = model.Name, Site = site, Folder = folder, NeuronpediaId = neuronpedia };
    }

    /// <summary>
    /// <c>neuronpedia_id</c>: the SAE's id on Neuronpedia, <c>{model}/{sae-id}</c> as in its page URLs
    /// (<c>https://www.neuronpedia.org/{model}/{sae-id}/{feature}</c>); absent gives null.
    /// </summary>
    private static string? ReadNeuronpediaId(YamlSection s, string path, ErrorSink errors)
    {
        if (s["neuronpedia_id"] is not { } node) return null;
        if (node is YamlScalarNode { Value: { } id } && NeuronpediaIdPattern().IsMatch(id)) return id;
        errors.At(node, $"{path}.neuronpedia_id is {ErrorSink.Describe(node)}, expected a Neuronpedia id MODEL/SAE-ID such as gpt2-small/8-res-jb (letters, digits, '.', '-', '_')");
        return null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$")]
    private static partial System.Text.RegularExpressions.Regex NeuronpediaIdPattern();

    private static TrainSaeSpec? ReadTrainSae(YamlNode node, string path, List<CaptureSpec>? captures, ModelTable? models,
        Dictionary<string, YamlNode> names, ErrorSink errors)
    {
        if (errors.Mapping(node, path, TrainSaeKeys) is not { } s) return null;
        int before = errors.Errors.Count;
        var name = ReadSaeName(s, path, names, errors);
        var (model, site) = ReadSaeSite(s, path, captures, models, errors);
        int? dSae = s.Int("d_sae", 1, "an integer >= 1 (number of features)");
        int? expansion = s.Int("expansion_factor", 1, "an integer >= 1 (d_sae = expansion_factor x site width)");
        if (dSae is not null && expansion is not null)
            errors.At(s["expansion_factor"]!, $"{path}: give d_sae or expansion_factor, not both");
        int? k = s.Int("k", 1, "an integer >= 1 (active features per token)", required: true);
        var defaults = new TopKTrainingOptions { DSae = 1, K = 1 };
        int steps = s.Int("steps", 1, "an integer >= 1") ?? defaults.Steps;
        int batch = s.Int("batch_size", 1, "an integer >= 1") ?? defaults.BatchSize;
        double lr = ReadDouble(s, "learning_rate", errors) ?? defaults.LearningRate;
        int warmup = s.Int("warmup_steps", 0, "an integer >= 0") ?? defaults.WarmupSteps;
        double decay = ReadDouble(s, "decay_fraction", errors) ?? defaults.DecayFraction;
        int? auxK = s.Int("aux_k", 1, "an integer >= 1");
        double auxCoef = ReadDouble(s, "aux_k_coefficient", errors) ?? defaults.AuxKCoefficient;
        int deadAfter = s.Int("dead_after_tokens", 1, "an integer >= 1") ?? (int)defaults.DeadAfterTokens;
        int buffer = s.Int("shuffle_buffer", 1, "an integer >= 1 (rows)") ?? defaults.ShuffleBufferRows;
        int seed = s.Int("seed", 0, "an integer >= 0") ?? defaults.Seed;
        int every = s.Int("metrics_every", 1, "an integer >= 1") ?? defaults.MetricsEvery;
        int checkpointEvery = s.Int("checkpoint_every", 0, "an integer >= 0 (steps between resumable checkpoints; 0 turns them off)") ?? defaults.CheckpointEvery;
        if (errors.Errors.Count > before || name is null || model is null || site is null || k is null) return null;

        int width = model.Descriptor.HiddenSize;
        var options = new TopKTrainingOptions
        {
            DSae = dSae ?? (expansion ?? DefaultExpansionFactor) * width, K = k.Value, Steps = steps, BatchSize = batch, LearningRate = lr,
            WarmupSteps = warmup, DecayFraction = decay, AuxK = auxK, AuxKCoefficient = auxCoef, DeadAfterTokens = deadAfter,
            ShuffleBufferRows = buffer, Seed = seed, MetricsEvery = every, CheckpointEvery = checkpointEvery,
        };
        if (options.Problem(width) is { } problem)
        {
            errors.At(s.Node, $"{path}: {problem}");
            return null;
        }
        return new TrainSaeSpec { Name = name, Model = model.Name, Site = site, Options = options };
    }

    private static string? ReadSaeName(YamlSection s, string path, Dictionary<string, YamlNode> names, ErrorSink errors)
    {
        var name = ReadName(s, "name", errors, required: true);
        if (name is null) return null;
        if (names.TryGetValue(name, out var first))
        {
            errors.At(s["name"]!, $"{path}.name '{name}' is already used at line {first.Start.Line}, expected unique SAE names across saes and train_sae");
            return null;
        }
        names[name] = s["name"]!;
        return name;
    }

    /// <summary>The SAE's model and site; the site must be captured for that model, since codes are made from its activations.</summary>
    private static (ModelSpec? Model, string? Site) ReadSaeSite(YamlSection s, string path, List<CaptureSpec>? captures, ModelTable? models, ErrorSink errors)
    {
        var modelName = s.String("model", "the name of a model of this job", required: true);
        var site = s.String("site", "a captured hook point of that model, such as blocks.0.hook_resid_post", required: true);
        ModelSpec? model = null;
        if (modelName is not null && models is not null)
        {
            model = models.Find(modelName);
            if (!models.Declared.Contains(modelName))
                errors.At(s["model"]!, $"{path}.model '{modelName}' is not a model of this job, expected one of: {string.Join(", ", models.Declared)}{Hint(modelName, models.Declared)}");
        }
        if (site is not null && HookPoints.IsModelOutput(site))
        {
            errors.At(s["site"]!, $"{path}.site '{site}' is a model output, not a hook point, expected a hook point such as blocks.0.hook_resid_post (SAEs encode activations)");
            return (model, null);
        }
        if (model is null || site is null || captures is null) return (null, null);
        var captured = captures.FirstOrDefault(c => c.Model == model.Name)?.Sites ?? [];
        if (!captured.Contains(site))
        {
            var listed = captured.Count == 0 ? $"model '{model.Name}' has no captures" : "one of: " + string.Join(", ", captured);
            errors.At(s["site"]!, $"{path}.site '{site}' is not captured for model '{model.Name}', expected {listed}{Hint(site, captured)}");
            return (model, null);
        }
        return (model, site);
    }

    /// <summary>A SAELens model_name names the same model as the job's when it equals the job name or the model directory's name (case-insensitive).</summary>
    private static bool ModelMatches(string trainedOn, ModelSpec model)
    {
        static string Norm(string v) => v.Trim().TrimEnd('/').Split('/')[^1].ToLowerInvariant();
        return Norm(trainedOn) == Norm(model.Name) || Norm(trainedOn) == Norm(Path.GetFileName(model.Path.TrimEnd('/')));
    }

    private static double? ReadDouble(YamlSection s, string key, ErrorSink errors)
    {
        if (s[key] is not { } node) return null;
        if (node is YamlScalarNode { Value: { } text } && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v >= 0)
            return v;
        errors.At(node, $"{s.KeyPath(key)} is {ErrorSink.Describe(node)}, expected a non-negative number");
        return null;
    }

    private static bool? ReadBool(YamlSection s, string key, ErrorSink errors)
    {
        if (s[key] is not { } node) return null;
        if (node is YamlScalarNode { Value: "true" or "false" } b) return b.Value == "true";
        errors.At(node, $"{s.KeyPath(key)} is {ErrorSink.Describe(node)}, expected true or false");
        return null;
    }

    private static string SaeCanonicalText(IReadOnlyList<SaeSpec> saes, IReadOnlyList<TrainSaeSpec> train, string baseDir)
    {
        var sb = new StringBuilder();
        void Line(string key, object? value) => sb.Append(key).Append(": ").Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append('\n');
        for (int i = 0; i < saes.Count; i++)
        {
            Line($"saes[{i}].name", saes[i].Name);
            Line($"saes[{i}].path", Path.GetRelativePath(baseDir, saes[i].Path).Replace('\\', '/'));
            Line($"saes[{i}].model", saes[i].Model);
            Line($"saes[{i}].site", saes[i].Site);
            if (saes[i].Folder.Settings is { IsEmpty: false } settings) Line($"saes[{i}].settings", settings.Text);
            // Only when set, so the digests of jobs without one stay as they were.
            if (saes[i].NeuronpediaId is { } neuronpedia) Line($"saes[{i}].neuronpedia_id", neuronpedia);
        }
        for (int i = 0; i < train.Count; i++)
        {
            var o = train[i].Options;
            Line($"train_sae[{i}].name", train[i].Name);
            Line($"train_sae[{i}].model", train[i].Model);
            Line($"train_sae[{i}].site", train[i].Site);
            Line($"train_sae[{i}].options", TrainingKey(o));
        }
        return sb.ToString();
    }

    /// <summary>
    /// Every training setting that changes the trained weights, in one canonical line (so neither metrics_every nor
    /// checkpoint_every: changing them keeps the trained folder and the job digest).
    /// </summary>
    public static string TrainingKey(TopKTrainingOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"d_sae={o.DSae},k={o.K},steps={o.Steps},batch_size={o.BatchSize},learning_rate={o.LearningRate:R},warmup_steps={o.WarmupSteps},decay_fraction={o.DecayFraction:R},aux_k={o.AuxK?.ToString(CultureInfo.InvariantCulture) ?? "default"},aux_k_coefficient={o.AuxKCoefficient:R},dead_after_tokens={o.DeadAfterTokens},shuffle_buffer={o.ShuffleBufferRows},seed={o.Seed}");
}
