using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Saes.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization"): the update of TorchSharp's
/// <c>torch.optim.AdamW</c>, op for op, over a fixed list of parameters, with every coefficient passed as a held
/// Scalar. TorchSharp's own step converts its coefficients to Scalars implicitly, which a GC on another thread can
/// free mid-call (see <see cref="HeldScalars"/>).
/// </summary>
internal sealed class AdamW : IDisposable
{
    private readonly Tensor[] _parameters, _expAvg, _expAvgSq;
    private readonly double _beta1, _beta2, _weightDecay;
    private readonly Scalar _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _eps;

    public AdamW(IReadOnlyList<Tensor> parameters, double beta1, double beta2, double eps, double weightDecay)
    {
        _parameters = [.. parameters];
        _expAvg = [.. _parameters.Select(ZerosOwned)];
        _expAvgSq = [.. _parameters.Select(ZerosOwned)];
        (_beta1, _beta2, _weightDecay) = (beta1, beta2, weightDecay);
        (_beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _eps) = (beta1, beta2, 1 - beta1, 1 - beta2, eps);
    }

    /// <summary>Steps taken (the bias corrections depend on it); set when resuming from a checkpoint.</summary>
    public long Steps { get; set; }

    /// <summary>The first and second moment estimates, one of each per parameter, in the parameters' order.</summary>
    public IReadOnlyList<Tensor> ExpAvg => _expAvg;
    public IReadOnlyList<Tensor> ExpAvgSq => _expAvgSq;

    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    public void Step(double learningRate)
    {
        Steps++;
        double biasCorrection1 = 1 - Math.Pow(_beta1, Steps), biasCorrection2 = 1 - Math.Pow(_beta2, Steps);
        using Scalar decay = 1 - learningRate * _weightDecay;
        using Scalar sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2);
        using Scalar negativeStepSize = -(learningRate / biasCorrection1);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var grad = _parameters[i].grad;
            if (grad is null) continue;
            _parameters[i].mul_(decay);
            _expAvg[i].mul_(_beta1Scalar).add_(grad, _oneMinusBeta1);
            _expAvgSq[i].mul_(_beta2Scalar).addcmul_(grad, grad, _oneMinusBeta2);
            var denominator = (_expAvgSq[i].sqrt() / sqrtBiasCorrection2).add_(_eps, HeldScalars.One);
            _parameters[i].addcdiv_(_expAvg[i], denominator, negativeStepSize);
        }
    }

    public void Dispose()
    {
        foreach (var t in _expAvg.Concat(_expAvgSq)) t.Dispose();
        foreach (var s in new[] { _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _eps }) s.Dispose();
    }

    private static Tensor ZerosOwned(Tensor like) => torch.zeros_like(like).DetachFromDisposeScope();
}
