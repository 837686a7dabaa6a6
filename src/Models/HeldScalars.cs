using TorchSharp;

namespace Sweep.Models;

/// <summary>
/// Scalars that live as long as the process. TorchSharp 0.107 hands a Scalar's native pointer to libtorch without
/// keeping the managed Scalar reachable during the call, and frees the c10::Scalar only from the finalizer. A
/// Scalar made by an implicit conversion (<c>t.pow(2)</c>, <c>t * 0.5</c>, and the alpha of 1 inside
/// <c>a + b</c> and <c>a.add_(b)</c>) can therefore be collected and freed by a GC that another thread triggers
/// while the op is still reading it: libtorch then fails in <c>Scalar::toFloat</c> ("Expected false to be true"),
/// or reads a wrong value. Pass one of these, or a Scalar held by a <c>using</c> until the call has returned.
/// </summary>
public static class HeldScalars
{
    public static readonly Scalar Zero = 0, One = 1, Two = 2, NegativeInfinity = double.NegativeInfinity;
}
