using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using CompiledNets.Generators.Descriptors;
using CompiledNets.Generators.Model;

namespace CompiledNets.Generators.Planning;

/// <summary>
/// Turns a <see cref="ModelSpec"/> into a <see cref="ModelPlan"/>. Pure: no Roslyn types, unit-testable on specs alone.
/// </summary>
/// <remarks>
/// <para>One path for every model: a field-order model is first written as the linear graph
/// <c>input → layer₀ → layer₁ → …</c> (layer arrays in element order); a <c>[Forward]</c> method is already a graph.</para>
/// <para>Then: shapes (the input width is solved from the first layer that fixes it; each operation's
/// <see cref="OpDescriptor.Shape"/> checks its inputs), dead operations dropped, a ReLU fused into the Linear before
/// it when it is that Linear's only consumer, consumer counts and last uses, a dropout fused with the ReLU before it
/// (backward in one pass) when it is that ReLU's only consumer, in-place work where the input dies here and no
/// backward reads it, activation buffers shared by liveness (values that a backward reads live to the end), input
/// gradients delivered by overwrite for the first writer in backward order and by accumulation after it (or shared
/// with the output gradient for a single-consumer element-wise input), and gradient buffers shared by liveness.</para>
/// </remarks>
internal static class ModelPlanner
{
    private const int Forever = int.MaxValue;

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

    /// <summary>The input and output widths of a nested model, or null when it cannot be planned.</summary>
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

    /// <summary>An operation while it is being planned.</summary>
    private sealed class Node
    {
        public OpPlan Op = null!;
        public int Value;               // the graph value it writes (node id while building)
        public LocationInfo? Location;
        public string Text = "";
        public bool Removed;
    }

    private static ModelPlan? Plan(ModelSpec spec, List<DiagnosticInfo> diagnostics)
    {
        if (spec.Layers.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0006", spec.Location, spec.TypeName));
            return null;
        }
        var forward = spec.Forward ?? FieldOrder(spec, diagnostics);
        if (forward is null)
        {
            return null;
        }
        bool fieldOrder = spec.Forward is null;

        // 1. Operations with their layer facts (sizes of Linear and nested models, dropout settings).
        var nodes = new List<Node?> { null };
        var nestedUses = new HashSet<(string, int)>();
        for (int i = 1; i < forward.Nodes.Count; i++)
        {
            var n = forward.Nodes[i];
            var op = ToOp(spec, n, i);
            if (op is null)
            {
                return null; // a nested model with errors of its own
            }
            if (op.Kind == OpKind.Model && !nestedUses.Add((n.Field!, n.Element)))
            {
                diagnostics.Add(DiagnosticInfo.Create("CN0015", n.Location, n.Text, op.Label));
                return null;
            }
            nodes.Add(new Node { Op = op, Value = i, Location = n.Location, Text = n.Text });
        }

        // 2. Shapes: solve the input width from the first operation that fixes it, then check every operation.
        int inWidth = SolveInputWidth(nodes);
        if (inWidth <= 0)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0017", forward.Location, spec.TypeName));
            return null;
        }
        var widths = new int[forward.Nodes.Count];
        widths[0] = inWidth;
        for (int i = 1; i < nodes.Count; i++)
        {
            var node = nodes[i]!;
            var inputs = node.Op.Inputs.Select(v => widths[v]).ToArray();
            var (outWidth, problem) = OpDescriptor.For(node.Op.Kind).Shape(node.Op, inputs);
            if (problem is not null)
            {
                if (fieldOrder)
                {
                    int from = node.Op.Inputs[0];
                    diagnostics.Add(DiagnosticInfo.Create("CN0002", node.Location, node.Op.Label,
                        node.Op.InFeatures.ToString(CultureInfo.InvariantCulture), nodes[from]?.Op.Label ?? "",
                        inputs[0].ToString(CultureInfo.InvariantCulture)));
                }
                else
                {
                    diagnostics.Add(DiagnosticInfo.Create("CN0013", node.Location, node.Text,
                        problem + (node.Op.Kind is OpKind.Linear or OpKind.Model ? "; got " + inputs[0] : "")));
                }
                return null;
            }
            widths[i] = outWidth;
            node.Op = node.Op with { OutFeatures = outWidth, InFeatures = node.Op.Kind is OpKind.Linear or OpKind.Model ? node.Op.InFeatures : inputs[0] };
        }

        // 3. Drop operations whose results never reach the output.
        int output = forward.Output;
        var live = new bool[nodes.Count];
        live[output] = true;
        for (int i = nodes.Count - 1; i >= 1; i--)
        {
            if (live[i])
            {
                foreach (int v in nodes[i]!.Op.Inputs)
                {
                    live[v] = true;
                }
            }
            else
            {
                nodes[i]!.Removed = true;
            }
        }

        // 4. Linear + ReLU: the ReLU runs in the Linear's epilogue when it is the Linear output's only consumer.
        var consumers = CountConsumers(nodes);
        for (int i = 1; i < nodes.Count; i++)
        {
            var relu = nodes[i]!;
            if (relu.Removed || relu.Op.Kind != OpKind.Relu)
            {
                continue;
            }
            int v = relu.Op.Inputs[0];
            if (v > 0 && nodes[v]!.Op is { Kind: OpKind.Linear, FusedRelu: null } && consumers[v] == 1)
            {
                var linear = nodes[v]!;
                linear.Op = linear.Op with { FusedRelu = relu.Op.Label };
                linear.Value = i;          // the Linear now writes the ReLU's value
                relu.Removed = true;
                nodes[i] = linear;
                nodes[v] = new Node { Op = linear.Op, Removed = true };
            }
        }

        // 5. Renumber: value 0 is the input, value k + 1 is the output of op k.
        var order = new List<Node>();
        var valueOf = new Dictionary<int, int> { [0] = 0 };
        foreach (var node in nodes.Skip(1).Where(n => n is not null && !n.Removed).Distinct())
        {
            order.Add(node!);
            valueOf[node!.Value] = order.Count;
        }
        var ops = new List<OpPlan>();
        for (int k = 0; k < order.Count; k++)
        {
            var op = order[k].Op;
            ops.Add(op with { Index = k, Output = k + 1, Inputs = op.Inputs.Select(v => valueOf[v]).ToEquatableArray() });
        }
        int outValue = valueOf[output];
        int valueCount = ops.Count + 1;
        var width = new int[valueCount];
        width[0] = inWidth;
        for (int k = 0; k < ops.Count; k++)
        {
            width[k + 1] = ops[k].OutFeatures;
        }
        var uses = new int[valueCount];
        var lastUse = Enumerable.Repeat(-1, valueCount).ToArray();
        foreach (var op in ops)
        {
            foreach (int v in op.Inputs)
            {
                uses[v]++;
                lastUse[v] = op.Index;
            }
        }
        bool Owned(int v) => v != 0 && ops[v - 1].Kind != OpKind.Model;

        // 6. Dropout after a single-consumer ReLU: in place, both backwards in one pass from the dropout output.
        for (int k = 0; k < ops.Count; k++)
        {
            var op = ops[k];
            int v = op.Inputs.Count > 0 ? op.Inputs[0] : 0;
            if (op.Kind == OpKind.Dropout && Owned(v) && uses[v] == 1 && v != outValue
                && ops[v - 1] is { } p && (p.Kind == OpKind.Relu || p.FusedRelu is not null))
            {
                ops[v - 1] = p with { BackwardDoneByNext = true };
                ops[k] = op with { BackwardFusesRelu = true, InPlaceSlot = 0 };
            }
        }

        // 7. Which values a backward reads: they must keep their values until the backward pass.
        var read = new bool[valueCount];
        foreach (var op in ops)
        {
            var d = OpDescriptor.For(op.Kind);
            if (d.BackwardReadsInputs(op))
            {
                foreach (int v in op.Inputs)
                {
                    read[v] = true;
                }
            }
            if (d.BackwardReadsOutput(op))
            {
                read[op.Output] = true;
            }
        }

        // 8. In place: over an input that dies here, that no backward reads, in a buffer of this model's own.
        for (int k = 0; k < ops.Count; k++)
        {
            var op = ops[k];
            if (op.InPlaceSlot >= 0)
            {
                continue;
            }
            var d = OpDescriptor.For(op.Kind);
            for (int slot = 0; slot < op.Inputs.Count; slot++)
            {
                int v = op.Inputs[slot];
                if (d.CanRunInPlace(slot) && Owned(v) && lastUse[v] == k && !read[v] && v != outValue)
                {
                    ops[k] = op with { InPlaceSlot = slot };
                    break;
                }
            }
        }

        // 9. Activation buffers by liveness: a value lives from its producer to its last use, or to the end when a
        //    backward reads it or it is the output; in-place chains share one buffer.
        var activation = new UnionFind(valueCount);
        foreach (var op in ops.Where(o => o.InPlaceSlot >= 0))
        {
            activation.Union(op.Output, op.Inputs[op.InPlaceSlot]);
        }
        var bufferOf = Allocate(valueCount, activation, v => Owned(v),
            v => v - 1, v => read[v] || v == outValue ? Forever : lastUse[v], width, out var buffers);

        // 10. Gradient deliveries, in backward order: the first writer of a value's gradient overwrites, later ones
        //     add; a single-consumer element-wise input shares the output gradient's buffer.
        var written = new bool[valueCount];
        var gradient = new UnionFind(valueCount);
        int scratch = 0;
        for (int k = ops.Count - 1; k >= 0; k--)
        {
            var op = ops[k];
            var d = OpDescriptor.For(op.Kind);
            var deliveries = new int[op.Inputs.Count];
            bool aliased = false; // the output gradient's buffer can become one input's gradient, not two
            for (int slot = 0; slot < op.Inputs.Count; slot++)
            {
                int v = op.Inputs[slot];
                Delivery delivery;
                if (!aliased && v != 0 && d.CanAliasGradient(slot) && uses[v] == 1 && !written[v])
                {
                    delivery = Delivery.Alias;
                    aliased = true;
                    gradient.Union(v, op.Output);
                }
                else
                {
                    delivery = written[v] ? Delivery.Accumulate : Delivery.Overwrite;
                }
                written[v] = true;
                deliveries[slot] = (int)delivery;
                if (delivery == Delivery.Accumulate && op.Kind is OpKind.Linear or OpKind.Model)
                {
                    scratch = System.Math.Max(scratch, width[v]);
                }
            }
            ops[k] = op with { Deliveries = deliveries.ToEquatableArray() };
        }
        int outClass = gradient.Find(outValue);
        var gradOf = Allocate(valueCount, gradient, v => v != 0 && gradient.Find(v) != outClass,
            v => v == 0 ? 0 : v - 1, v => lastUse[v], width, out var gradBuffers);

        var values = new List<ValuePlan>();
        for (int v = 0; v < valueCount; v++)
        {
            int buffer = v == 0 ? ValuePlan.ModelInput : Owned(v) ? bufferOf[v] : ValuePlan.External;
            int grad = v == 0 ? ValuePlan.ModelInput : gradient.Find(v) == outClass ? ValuePlan.External : gradOf[v];
            values.Add(new ValuePlan(v, width[v], buffer, grad, uses[v], lastUse[v], read[v]));
        }
        return new ModelPlan(spec, inWidth, width[outValue], values.ToEquatableArray(), ops.ToEquatableArray(),
            buffers.ToEquatableArray(), gradBuffers.ToEquatableArray(), outValue, scratch);
    }

    /// <summary>A field-order model as the linear graph of its layers (array elements in order).</summary>
    private static ForwardSpec? FieldOrder(ModelSpec spec, List<DiagnosticInfo> diagnostics)
    {
        var first = spec.Layers[0];
        var firstKind = first.IsArray && first.Elements.Count > 0 ? first.Elements[0].Kind : first.Kind;
        if (firstKind is not (LayerKind.Linear or LayerKind.Model) || (first.IsArray && first.Elements.Count == 0))
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0007", first.Location, spec.TypeName, first.FieldName));
            return null;
        }
        var nodes = new List<NodeSpec> { new(NodeKind.Input, EquatableArray<int>.Empty, "input", null) };
        foreach (var layer in spec.Layers)
        {
            int count = layer.IsArray ? layer.Elements.Count : 1;
            for (int e = 0; e < count; e++)
            {
                var element = layer.IsArray ? layer.Elements[e] : layer;
                var location = element.InFeaturesLocation ?? element.Location;   // CN0002 points at the inFeatures argument
                nodes.Add(new NodeSpec(NodeKind.Layer, new[] { nodes.Count - 1 }.ToEquatableArray(), layer.FieldName, location)
                {
                    Field = layer.FieldName,
                    Element = layer.IsArray ? e : -1,
                });
            }
        }
        return new ForwardSpec("", nodes.ToEquatableArray(), nodes.Count - 1, spec.Location);
    }

    /// <summary>The operation of one graph node, with its layer's facts; null when a nested model cannot be planned.</summary>
    private static OpPlan? ToOp(ModelSpec spec, NodeSpec n, int id)
    {
        var inputs = n.Inputs;
        switch (n.Kind)
        {
            case NodeKind.Layer:
            {
                var field = spec.Layers.First(l => l.FieldName == n.Field);
                var layer = n.Element >= 0 ? field.Elements[n.Element] : field;
                string label = n.Element >= 0 ? field.FieldName + "." + n.Element.ToString(CultureInfo.InvariantCulture) : field.FieldName;
                string target = "this.@" + field.FieldName + (n.Element >= 0 ? "[" + n.Element.ToString(CultureInfo.InvariantCulture) + "]" : "");
                var op = new OpPlan(id, OpKind.Relu, inputs, id, label) { Target = target };
                switch (layer.Kind)
                {
                    case LayerKind.Linear:
                        return op with { Kind = OpKind.Linear, InFeatures = layer.InFeatures, OutFeatures = layer.OutFeatures, Bias = layer.Bias };
                    case LayerKind.Model:
                        var sizes = Sizes(layer);
                        return sizes is null ? null : op with { Kind = OpKind.Model, InFeatures = sizes.Value.In, OutFeatures = sizes.Value.Out, ModelType = layer.ModelType };
                    case LayerKind.Dropout:
                        return op with { Kind = OpKind.Dropout, P = layer.P, Training = target + ".IsTraining", Generator = target + ".Generator" };
                    case LayerKind.Sigmoid:
                        return op with { Kind = OpKind.Sigmoid };
                    case LayerKind.Tanh:
                        return op with { Kind = OpKind.Tanh };
                    case LayerKind.Softmax:
                        return op with { Kind = OpKind.Softmax };
                    case LayerKind.LogSoftmax:
                        return op with { Kind = OpKind.LogSoftmax };
                    default:
                        return op;
                }
            }
            case NodeKind.Dropout:
                return new OpPlan(id, OpKind.Dropout, inputs, id, "F.Dropout")
                {
                    P = n.P,
                    Training = n.FollowsModelMode ? "this.IsTraining" : "true",
                    Generator = "global::CompiledNets.Generator.Default",
                };
            case NodeKind.Affine:
                return new OpPlan(id, OpKind.Affine, inputs, id, n.Text) { Scale = n.Scale, Shift = n.Shift };
            default:
                var kind = n.Kind switch
                {
                    NodeKind.Relu => OpKind.Relu,
                    NodeKind.Sigmoid => OpKind.Sigmoid,
                    NodeKind.Tanh => OpKind.Tanh,
                    NodeKind.Softmax => OpKind.Softmax,
                    NodeKind.Add => OpKind.Add,
                    NodeKind.Subtract => OpKind.Subtract,
                    NodeKind.Multiply => OpKind.Multiply,
                    _ => OpKind.Cat,
                };
                string text = n.Kind is NodeKind.Relu or NodeKind.Sigmoid or NodeKind.Tanh or NodeKind.Softmax ? "F." + n.Kind : n.Text;
                return new OpPlan(id, kind, inputs, id, text);
        }
    }

    /// <summary>
    /// The model's input width: widths are tracked as <c>a·W + b</c> of the unknown input width <c>W</c> until the
    /// first Linear or nested model that reads a value depending on <c>W</c> fixes it. 0 when nothing does.
    /// </summary>
    private static int SolveInputWidth(List<Node?> nodes)
    {
        var a = new long[nodes.Count];
        var b = new long[nodes.Count];
        a[0] = 1;
        for (int i = 1; i < nodes.Count; i++)
        {
            var op = nodes[i]!.Op;
            int x = op.Inputs[0];
            switch (op.Kind)
            {
                case OpKind.Linear or OpKind.Model:
                    if (a[x] != 0)
                    {
                        long w = (op.InFeatures - b[x]) / a[x];
                        return w >= 1 && a[x] * w + b[x] == op.InFeatures ? (int)w : 1; // a mismatch is then reported by the shape check
                    }
                    (a[i], b[i]) = (0, op.OutFeatures);
                    break;
                case OpKind.Cat:
                    foreach (int v in op.Inputs)
                    {
                        a[i] += a[v];
                        b[i] += b[v];
                    }
                    break;
                case OpKind.Add or OpKind.Subtract or OpKind.Multiply:
                    int y = op.Inputs[1];
                    if (a[x] != a[y] && (a[x] == 0 || a[y] == 0))
                    {
                        var (known, unknown) = a[x] == 0 ? (x, y) : (y, x);
                        long w = (b[known] - b[unknown]) / a[unknown];
                        return w >= 1 && a[unknown] * w + b[unknown] == b[known] ? (int)w : 1;
                    }
                    (a[i], b[i]) = (a[x], b[x]);
                    break;
                default:
                    (a[i], b[i]) = (a[x], b[x]);
                    break;
            }
        }
        return 0;
    }

    private static int[] CountConsumers(List<Node?> nodes)
    {
        var consumers = new int[nodes.Count];
        foreach (var node in nodes.Skip(1))
        {
            if (node is { Removed: false })
            {
                foreach (int v in node.Op.Inputs)
                {
                    consumers[v]++;
                }
            }
        }
        return consumers;
    }

    /// <summary>
    /// Greedy interval colouring: the classes of <paramref name="classes"/> (values sharing a buffer by construction),
    /// each live from its first start to its last end, get buffers; a buffer is reused once its previous class ended
    /// strictly before (an operation never writes a buffer it reads, except in place). Prefers a free buffer of the
    /// same width, then any free buffer (grown to the larger width).
    /// </summary>
    private static int[] Allocate(int valueCount, UnionFind classes, System.Func<int, bool> included, System.Func<int, int> start,
        System.Func<int, int> end, int[] width, out List<BufferPlan> buffers)
    {
        var span = new Dictionary<int, (int Start, int End, int Width)>();
        for (int v = 0; v < valueCount; v++)
        {
            if (!included(v))
            {
                continue;
            }
            int root = classes.Find(v);
            var s = span.TryGetValue(root, out var cur) ? cur : (int.MaxValue, -1, 0);
            span[root] = (System.Math.Min(s.Item1, start(v)), System.Math.Max(s.Item2, end(v)), System.Math.Max(s.Item3, width[v]));
        }
        buffers = new List<BufferPlan>();
        var busyUntil = new List<int>();
        var bufferOfClass = new Dictionary<int, int>();
        foreach (var pair in span.OrderBy(p => p.Value.Start).ThenBy(p => p.Key))
        {
            int root = pair.Key;
            var s = pair.Value;
            int chosen = -1;
            for (int i = 0; i < buffers.Count && chosen < 0; i++)
            {
                if (busyUntil[i] < s.Start && buffers[i].Width == s.Width)
                {
                    chosen = i;
                }
            }
            for (int i = 0; i < buffers.Count && chosen < 0; i++)
            {
                if (busyUntil[i] < s.Start)
                {
                    chosen = i;
                }
            }
            if (chosen < 0)
            {
                buffers.Add(new BufferPlan(buffers.Count, s.Width));
                busyUntil.Add(s.End);
                chosen = buffers.Count - 1;
            }
            else
            {
                buffers[chosen] = buffers[chosen] with { Width = System.Math.Max(buffers[chosen].Width, s.Width) };
                busyUntil[chosen] = s.End;
            }
            bufferOfClass[root] = chosen;
        }
        var result = new int[valueCount];
        for (int v = 0; v < valueCount; v++)
        {
            result[v] = included(v) ? bufferOfClass[classes.Find(v)] : -3;
        }
        return result;
    }

    private sealed class UnionFind
    {
        private readonly int[] _parent;

        public UnionFind(int count)
        {
            _parent = Enumerable.Range(0, count).ToArray();
        }

        public int Find(int v) => _parent[v] == v ? v : _parent[v] = Find(_parent[v]);

        public void Union(int a, int b) => _parent[Find(a)] = Find(b);
    }
}
