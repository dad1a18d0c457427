using CompiledNets.Generators.Model;

namespace CompiledNets.Generators.Planning;

/// <summary>
/// How one model runs: its sizes, the activation buffers, and the steps of the forward pass with
/// their fusion and in-place decisions. The backward pass is these steps in reverse.
/// </summary>
/// <param name="Spec">The parsed model.</param>
/// <param name="InFeatures">Columns of the input, <c>[batch, InFeatures]</c>.</param>
/// <param name="OutFeatures">Columns of the output, <c>[batch, OutFeatures]</c>.</param>
/// <param name="Buffers">Activation buffers; buffer -1 is the model input.</param>
/// <param name="Steps">The forward steps in order (a ReLU fused into its Linear is not a step of its own).</param>
/// <param name="OutputBuffer">The buffer holding the model output.</param>
internal sealed record ModelPlan(
    ModelSpec Spec,
    int InFeatures,
    int OutFeatures,
    EquatableArray<BufferPlan> Buffers,
    EquatableArray<StepPlan> Steps,
    int OutputBuffer);

/// <summary>An activation buffer <c>[batch, Width]</c>.</summary>
/// <param name="Id">Its number: the fields are <c>_a{Id}</c> (values) and <c>_g{Id}</c> (gradient).</param>
/// <param name="Width">Values per row.</param>
/// <param name="External">Owned by a nested model (its output), held as a segment, never written here.</param>
/// <param name="HasMask">Whether a dropout mask <c>_m{Id}</c> of the same size goes with it.</param>
internal sealed record BufferPlan(int Id, int Width, bool External, bool HasMask);

/// <summary>The kind of a forward step.</summary>
internal enum StepKind
{
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    Dropout,
    Model,
}

/// <summary>One forward step.</summary>
/// <param name="Kind">What it computes.</param>
/// <param name="Field">The layer field it runs.</param>
/// <param name="Input">The buffer it reads (-1: the model input).</param>
/// <param name="Output">The buffer it writes; equal to <paramref name="Input"/> when it works in place.</param>
/// <param name="InFeatures">Input width.</param>
/// <param name="OutFeatures">Output width.</param>
/// <param name="Bias">Linear: whether it has a bias.</param>
/// <param name="FusedReLU">Linear: the ReLU field applied in the same pass, or null.</param>
/// <param name="P">Dropout: the probability.</param>
/// <param name="BackwardFusesReLU">Dropout: its backward also does the preceding ReLU's (one pass over the gradient).</param>
/// <param name="BackwardDoneByNext">ReLU (or a Linear's fused ReLU): its backward is done by the dropout after it.</param>
/// <param name="ModelType">Model: the nested model's <c>global::</c> type.</param>
internal sealed record StepPlan(
    StepKind Kind,
    string Field,
    int Input,
    int Output,
    int InFeatures,
    int OutFeatures,
    bool Bias,
    string? FusedReLU,
    float P,
    bool BackwardFusesReLU,
    bool BackwardDoneByNext,
    string? ModelType)
{
    /// <summary>Whether an element-wise step copies its input into a fresh buffer before working in place on it.</summary>
    public bool Copies => Kind is not (StepKind.Linear or StepKind.Model) && Input != Output;
}

/// <summary>
/// The planner's output: a plan (null when the model cannot be generated), its diagnostics, and, when
/// there is no plan but the class itself is sound, the spec to emit a stub from (so that the errors
/// reported on the layers are not buried under "no definition for Forward" at every use).
/// </summary>
internal sealed record PlanResult(ModelPlan? Plan, EquatableArray<DiagnosticInfo> Diagnostics, ModelSpec? Stub = null);
