using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using CompiledNets.Generators.Model;

namespace CompiledNets.Generators.Planning;

/// <summary>
/// Turns a <see cref="ModelSpec"/> into a <see cref="ModelPlan"/>: infers and checks shapes (each
/// layer's input width is the previous layer's output width), allocates activation buffers, and
/// decides fusions and in-place work. Pure: no Roslyn types, unit-testable on specs alone.
/// </summary>
/// <remarks>
/// Rules. A ReLU right after a Linear runs in the Linear's epilogue. An element-wise step works in
/// place on the previous buffer when that buffer is this model's own and the previous step's
/// backward does not read it; otherwise it copies into a new buffer. A Dropout right after a ReLU
/// works in place and does both backwards in one pass (where the mask is 0 the output is 0 too,
/// so the ReLU test can read the dropout output), unless the buffer already carries another
/// dropout's mask: then it copies. A nested model's output is its own: never written here.
/// </remarks>
internal static class ModelPlanner
{
    public static PlanResult Plan(ModelSpec spec)
    {
        if (!spec.IsValid)
        {
            return new PlanResult(null, EquatableArray<DiagnosticInfo>.Empty, Stub: spec);
        }
        var diagnostics = new List<DiagnosticInfo>();
        var plan = Plan(spec, diagnostics);
        return new PlanResult(plan, diagnostics.ToEquatableArray(), plan is null ? spec : null);
    }

    /// <summary>The input and output widths of a model, or null when it cannot be planned.</summary>
    private static (int In, int Out)? Sizes(LayerSpec layer)
    {
        if (layer.Nested is null)
        {
            return layer.InFeatures > 0 && layer.OutFeatures > 0 ? (layer.InFeatures, layer.OutFeatures) : null;
        }
        if (!layer.Nested.IsValid)
        {
            return null;
        }
        var nested = Plan(layer.Nested, new List<DiagnosticInfo>());
        return nested is null ? null : (nested.InFeatures, nested.OutFeatures);
    }

    private static ModelPlan? Plan(ModelSpec spec, List<DiagnosticInfo> diagnostics)
    {
        var layers = spec.Layers;
        if (layers.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0006", spec.Location, spec.TypeName));
            return null;
        }
        var first = layers[0];
        if (first.Kind is not (LayerKind.Linear or LayerKind.Model))
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0007", first.Location, spec.TypeName, first.FieldName));
            return null;
        }

        var buffers = new List<BufferPlan>();
        var steps = new List<StepPlan>();
        int current = -1;              // the buffer holding the running activation
        int width = 0;                 // its width
        bool writable = false;         // whether it is this model's own buffer
        bool previousReadsOutput = false;
        bool previousIsReLU = false;
        string previousName = "";
        int modelIn = 0;

        int NewBuffer(int w, bool external = false)
        {
            buffers.Add(new BufferPlan(buffers.Count, w, external, HasMask: false));
            return buffers.Count - 1;
        }

        bool CheckWidth(LayerSpec layer, int expected)
        {
            if (current == -1 && steps.Count == 0)
            {
                modelIn = expected;
                return true;
            }
            if (expected == width)
            {
                return true;
            }
            diagnostics.Add(DiagnosticInfo.Create("CN0002", layer.InFeaturesLocation ?? layer.Location, layer.FieldName,
                expected.ToString(CultureInfo.InvariantCulture), previousName, width.ToString(CultureInfo.InvariantCulture)));
            return false;
        }

        bool ok = true;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            switch (layer.Kind)
            {
                case LayerKind.Linear:
                {
                    if (!CheckWidth(layer, layer.InFeatures))
                    {
                        ok = false;
                    }
                    int output = NewBuffer(layer.OutFeatures);
                    string? fused = i + 1 < layers.Count && layers[i + 1].Kind == LayerKind.ReLU ? layers[i + 1].FieldName : null;
                    steps.Add(new StepPlan(StepKind.Linear, layer.FieldName, current, output, layer.InFeatures, layer.OutFeatures,
                        layer.Bias, fused, 0f, false, false, null));
                    (current, width, writable) = (output, layer.OutFeatures, true);
                    previousReadsOutput = fused is not null;
                    previousIsReLU = fused is not null;
                    previousName = fused ?? layer.FieldName;
                    if (fused is not null)
                    {
                        i++;
                    }
                    break;
                }
                case LayerKind.Model:
                {
                    var sizes = Sizes(layer);
                    if (sizes is null)
                    {
                        return null; // the nested model reports its own errors
                    }
                    if (!CheckWidth(layer, sizes.Value.In))
                    {
                        ok = false;
                    }
                    int output = NewBuffer(sizes.Value.Out, external: true);
                    steps.Add(new StepPlan(StepKind.Model, layer.FieldName, current, output, sizes.Value.In, sizes.Value.Out,
                        false, null, 0f, false, false, layer.ModelType));
                    (current, width, writable) = (output, sizes.Value.Out, false);
                    previousReadsOutput = false;
                    previousIsReLU = false;
                    previousName = layer.FieldName;
                    break;
                }
                case LayerKind.Dropout:
                {
                    bool fuse = writable && previousIsReLU;
                    // A buffer has one mask: a second dropout over a buffer that already carries one
                    // (e.g. Dropout, ReLU, Dropout) copies, or its mask would overwrite the first's.
                    bool masked = current >= 0 && buffers[current].HasMask;
                    bool inPlace = !masked && (fuse || (writable && !previousReadsOutput));
                    int output = inPlace ? current : NewBuffer(width);
                    buffers[output] = buffers[output] with { HasMask = true };
                    if (fuse)
                    {
                        int last = steps.Count - 1;
                        steps[last] = steps[last] with { BackwardDoneByNext = true };
                    }
                    steps.Add(new StepPlan(StepKind.Dropout, layer.FieldName, current, output, width, width,
                        false, null, layer.P, fuse, false, null));
                    (current, writable) = (output, true);
                    previousReadsOutput = fuse;
                    previousIsReLU = false;
                    previousName = layer.FieldName;
                    break;
                }
                default:
                {
                    var kind = layer.Kind switch
                    {
                        LayerKind.ReLU => StepKind.ReLU,
                        LayerKind.Sigmoid => StepKind.Sigmoid,
                        LayerKind.Tanh => StepKind.Tanh,
                        _ => StepKind.Softmax,
                    };
                    bool inPlace = writable && !previousReadsOutput;
                    int output = inPlace ? current : NewBuffer(width);
                    steps.Add(new StepPlan(kind, layer.FieldName, current, output, width, width, false, null, 0f, false, false, null));
                    (current, writable) = (output, true);
                    previousReadsOutput = true;
                    previousIsReLU = kind == StepKind.ReLU;
                    previousName = layer.FieldName;
                    break;
                }
            }
        }
        return ok
            ? new ModelPlan(spec, modelIn, width, buffers.ToEquatableArray(), steps.ToEquatableArray(), current)
            : null;
    }
}
