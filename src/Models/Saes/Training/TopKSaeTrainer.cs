using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Saes.Training;

/// <summary>
/// Trains a TopK SAE (Gao et al. 2024, "Scaling and evaluating sparse autoencoders") on streamed activations:
/// <code>
/// codes = TopK_k(ReLU((x - b_dec) W_enc + b_enc));  x̂ = codes W_dec + b_dec
/// loss  = mean‖x - x̂‖² + α · AuxK,  AuxK = mean‖e - TopK_aux(dead pre-activations) W_dec‖² · min(1, dead/aux_k),  e = x - x̂
/// </code>
/// AdamW with linear warm-up and linear decay; decoder rows kept at unit norm (the gradient's component along
/// each row removed before the step, rows renormalised after it); W_enc initialised to W_decᵀ and b_dec to the
/// mean of the first buffer. Seeded: the same data, options and seed give the same SAE on the same device.
/// </summary>
public static class TopKSaeTrainer
{
    /// <param name="checkpoints">
    /// Where to save a checkpoint every <see cref="TopKTrainingOptions.CheckpointEvery"/> steps; a valid checkpoint of
    /// this training found there is resumed from (its metrics reported again first), giving the same SAE and metrics
    /// bit for bit as an uninterrupted training. The caller removes the folder once the SAE is safely written.
    /// </param>
    public static SparseAutoencoder Train(Func<IEnumerable<float[]>> source, int dIn, TopKTrainingOptions options,
        SaeConfig? identity = null, Action<TrainingMetrics>? report = null, CancellationToken cancellationToken = default,
        TrainingCheckpoints? checkpoints = null)
    {
        if (options.Problem(dIn) is { } problem) throw new ArgumentException(problem);
        int dSae = options.DSae, k = options.K, batch = options.BatchSize;
        int auxK = Math.Min(options.AuxK ?? Math.Max(1, dIn / 2), dSae);
        var device = torch.device(options.Device);
        var buffer = new ShuffleBuffer(source, dIn, options.ShuffleBufferRows, options.Seed);

        using var scopeAll = torch.NewDisposeScope();
        var wDecInit = torch.randn([dSae, dIn], generator: new Generator((ulong)options.Seed));
        wDecInit = wDecInit / wDecInit.norm(1, keepdim: true);
        // Parameter takes over its tensor's handle, so each gets its own copy.
        var wEnc = new TorchSharp.Modules.Parameter(wDecInit.t().contiguous().to(device).clone());
        var wDec = new TorchSharp.Modules.Parameter(wDecInit.to(device).clone());
        var bEnc = new TorchSharp.Modules.Parameter(torch.zeros([dSae], device: device));
        var bDec = new TorchSharp.Modules.Parameter(MeanOfBuffer(buffer, dIn, batch).to(device).clone());
        Tensor[] parameters = [wEnc, bEnc, wDec, bDec]; // the order of ParameterNames
        using var optimizer = new AdamW(parameters, options.Beta1, options.Beta2, 1e-8, options.WeightDecay);
        // Scalars are passed held, never converted implicitly (see HeldScalars).
        using Scalar auxKCoefficient = options.AuxKCoefficient;

        var lastFired = new long[dSae];
        var host = new float[batch * dIn];
        long tokens = 0;
        int start = 0;
        var history = new List<TrainingMetrics>();
        var fingerprint = checkpoints is null ? null : TrainingCheckpoint.Fingerprint(checkpoints, dIn, options);
        if (checkpoints is not null && TrainingCheckpoint.TryLoad(checkpoints.Folder, fingerprint!, StateShapes(dIn, dSae), dSae, options.Steps,
                checkpoints.Warn) is { } state)
        {
            Restore(state, parameters, optimizer);
            (start, tokens, lastFired) = (state.Step, state.Tokens, state.LastFired);
            history.AddRange(state.Metrics);
            foreach (var m in history) report?.Invoke(m);
            // The buffer's state is its seed and what it has drawn: draw the same batches again, without training.
            for (int step = 0; step < start; step++) buffer.Next(host, batch);
        }

        for (int step = start; step < options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double lr = options.LearningRateAt(step);
            buffer.Next(host, batch);
            tokens += batch;

            using var scope = torch.NewDisposeScope();
            var x = torch.tensor(host, [batch, dIn]).to(device);
            var pre = (x - bDec).matmul(wEnc).Plus(bEnc);
            var (topValues, topIndices) = pre.topk(k, dim: -1);
            var codes = torch.zeros_like(pre).scatter(-1, topIndices, torch.nn.functional.relu(topValues));
            var recon = codes.matmul(wDec).Plus(bDec);
            var mse = (recon - x).pow(HeldScalars.Two).mean();

            // Dead features: not fired within DeadAfterTokens tokens (counting from the start of training).
            var firedNow = codes.gt(HeldScalars.Zero).any(0).cpu().data<bool>().ToArray();
            for (int f = 0; f < dSae; f++) if (firedNow[f]) lastFired[f] = tokens;
            var deadMask = new bool[dSae];
            int dead = 0;
            for (int f = 0; f < dSae; f++) if (tokens - lastFired[f] >= options.DeadAfterTokens) { deadMask[f] = true; dead++; }

            var loss = mse;
            var aux = torch.zeros([], device: device);
            if (dead > 0 && options.AuxKCoefficient > 0)
            {
                var residual = (x - recon).detach();
                var deadTensor = torch.tensor(deadMask, device: device);
                var deadPre = pre.masked_fill(deadTensor.logical_not().unsqueeze(0), HeldScalars.NegativeInfinity);
                int kAux = Math.Min(auxK, dead);
                var (auxValues, auxIndices) = deadPre.topk(kAux, dim: -1);
                var auxCodes = torch.zeros_like(pre).scatter(-1, auxIndices, torch.nn.functional.relu(auxValues));
                using Scalar deadShare = Math.Min(1.0, dead / (double)auxK);
                aux = (auxCodes.matmul(wDec) - residual).pow(HeldScalars.Two).mean().mul(deadShare);
                loss = loss.Plus(aux.mul(auxKCoefficient));
            }

            optimizer.ZeroGrad();
            loss.backward();
            using (torch.no_grad())
            {
                // Remove the gradient component that would change the decoder rows' norms.
                var g = wDec.grad!;
                g.sub_((g * wDec).sum([1L], keepdim: true) * wDec);
            }
            optimizer.Step(lr);
            using (torch.no_grad()) wDec.div_(wDec.norm(1, keepdim: true));

            // Metrics are kept even when nobody listens now: a checkpoint carries them to the attempt that finishes.
            if ((step + 1) % options.MetricsEvery == 0 || step == options.Steps - 1)
            {
                using var _ = torch.no_grad();
                double sse = (recon - x).pow(HeldScalars.Two).sum().item<float>();
                double sst = (x - x.mean([0L], keepdim: true)).pow(HeldScalars.Two).sum().item<float>();
                double l0 = codes.gt(HeldScalars.Zero).sum(1).to(ScalarType.Float64).mean().item<double>();
                var metrics = new TrainingMetrics(step + 1, lr, mse.item<float>(), aux.item<float>(), sst > 0 ? 1 - sse / sst : double.NaN, l0, dead, tokens);
                history.Add(metrics);
                report?.Invoke(metrics);
            }

            if (checkpoints is not null && options.CheckpointEvery > 0 && (step + 1) % options.CheckpointEvery == 0 && step + 1 < options.Steps)
                TrainingCheckpoint.Save(checkpoints.Folder, fingerprint!,
                    Capture(step + 1, tokens, lastFired, history, parameters, optimizer, dIn, dSae));
        }

        var config = (identity ?? new SaeConfig { Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.TopK, DIn = dIn, DSae = dSae }) with
        {
            Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.TopK, DIn = dIn, DSae = dSae, K = k,
            ApplyBDecToInput = true, Normalization = SaeNormalization.None, Dtype = "float32",
        };
        return new SparseAutoencoder(config, Host(wEnc), Host(bEnc), Host(wDec), Host(bDec), null, options.Device);
    }

    private static readonly string[] ParameterNames = ["W_enc", "b_enc", "W_dec", "b_dec"];

    /// <summary>Shapes of the checkpointed tensors: each parameter and its two AdamW moments, in the order of <see cref="ParameterNames"/>.</summary>
    private static Dictionary<string, long[]> StateShapes(int dIn, int dSae)
    {
        long[][] shapes = [[dIn, dSae], [dSae], [dSae, dIn], [dIn]];
        var result = new Dictionary<string, long[]>();
        for (int i = 0; i < ParameterNames.Length; i++)
        {
            result[ParameterNames[i]] = shapes[i];
            result[ParameterNames[i] + ".exp_avg"] = shapes[i];
            result[ParameterNames[i] + ".exp_avg_sq"] = shapes[i];
        }
        return result;
    }

    private static TrainingState Capture(int step, long tokens, long[] lastFired, List<TrainingMetrics> metrics, Tensor[] parameters,
        AdamW optimizer, int dIn, int dSae)
    {
        using var scope = torch.NewDisposeScope();
        var shapes = StateShapes(dIn, dSae);
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>();
        for (int i = 0; i < ParameterNames.Length; i++)
        {
            var name = ParameterNames[i];
            tensors[name] = (Host(parameters[i]), shapes[name]);
            tensors[name + ".exp_avg"] = (Host(optimizer.ExpAvg[i]), shapes[name]);
            tensors[name + ".exp_avg_sq"] = (Host(optimizer.ExpAvgSq[i]), shapes[name]);
        }
        return new TrainingState(step, tokens, optimizer.Steps, lastFired, metrics, tensors);
    }

    private static void Restore(TrainingState state, Tensor[] parameters, AdamW optimizer)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        void Load(Tensor target, string name)
        {
            var (data, shape) = state.Tensors[name];
            target.copy_(torch.tensor(data, shape));
        }
        for (int i = 0; i < ParameterNames.Length; i++)
        {
            Load(parameters[i], ParameterNames[i]);
            Load(optimizer.ExpAvg[i], ParameterNames[i] + ".exp_avg");
            Load(optimizer.ExpAvgSq[i], ParameterNames[i] + ".exp_avg_sq");
        }
        optimizer.Steps = state.OptimizerSteps;
    }

    private static Tensor MeanOfBuffer(ShuffleBuffer buffer, int dIn, int batch)
    {
        // b_dec starts at the mean of a sample (the geometric median in Gao et al.; the mean is close and cheap).
        int rows = Math.Min(buffer.Count, Math.Max(batch, 4096));
        var sample = new float[rows * dIn];
        buffer.Next(sample, rows);
        var sum = new double[dIn];
        for (int r = 0; r < rows; r++) for (int j = 0; j < dIn; j++) sum[j] += sample[r * dIn + j];
        return torch.tensor(sum.Select(v => (float)(v / rows)).ToArray(), [dIn]);
    }

    private static float[] Host(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();
}
