using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using CompiledNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace CompiledNets.Generators.Parsing;

/// <summary>
/// Reads a model's <c>[Forward]</c> method into a <see cref="ForwardSpec"/> by walking its operation tree: locals
/// and reassignment, layer calls, <c>F.*</c>, tensor <c>+ - *</c> (and by float constants), and <c>foreach</c>/<c>for</c>
/// loops over layer arrays, unrolled. The first construct it cannot compile is reported at that exact expression
/// (CN0012–CN0017) and the model is not generated.
/// </summary>
/// <remarks>
/// The parser sees the compilation without the generated code, so a call of a nested <c>[Model]</c>'s generated
/// <c>Forward</c> (and the inherited <c>IsTraining</c>) does not bind yet: such calls are read from the syntax.
/// </remarks>
internal static class ForwardParser
{
    public const string ForwardAttributeName = "CompiledNets.ForwardAttribute";
    private const string TensorType = "CompiledNets.Tensor";
    private const string FunctionsType = "CompiledNets.F";
    private const int MaxNodes = 20000;

    public static ForwardSpec? Parse(INamedTypeSymbol type, IReadOnlyList<LayerSpec> layers, Compilation compilation,
        List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken, out bool ok)
    {
        ok = true;
        var methods = type.GetMembers().OfType<IMethodSymbol>()
            .Where(m => m.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ForwardAttributeName))
            .ToList();
        if (methods.Count == 0)
        {
            return null;
        }
        ok = false;
        if (methods.Count > 1)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0014", LocationInfo.From(methods[1].Locations.FirstOrDefault()), methods[1].Name,
                "is a second [Forward] method of '" + type.Name + "'; a model has one"));
            return null;
        }
        var method = methods[0];
        var location = LocationInfo.From(method.Locations.FirstOrDefault());
        var syntax = method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) as MethodDeclarationSyntax;
        string? problem =
            method.IsStatic ? "must be an instance method" :
            method.Name == "Forward" ? "must not be named Forward: the generator emits Forward(Tensor) from it" :
            method.IsGenericMethod || method.Parameters.Length != 1 || method.Parameters[0].RefKind != RefKind.None
                || method.Parameters[0].Type.ToDisplayString() != TensorType || method.ReturnType.ToDisplayString() != TensorType
                ? "must take one Tensor and return a Tensor: 'Tensor " + method.Name + "(Tensor x)'" :
            syntax is null || (syntax.Body is null && syntax.ExpressionBody is null) ? "must have a body" :
            null;
        if (problem is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0014", location, method.Name, problem));
            return null;
        }
        var walker = new Walker(method, layers, compilation.GetSemanticModel(syntax!.SyntaxTree), cancellationToken);
        try
        {
            walker.Run(syntax);
        }
        catch (ForwardError e)
        {
            if (e.Diagnostic is not null)
            {
                diagnostics.Add(e.Diagnostic);
            }
            return null;
        }
        ok = true;
        return new ForwardSpec(method.Name, walker.Nodes.ToEquatableArray(), walker.Output, location);
    }

    /// <summary>Stops the walk at the first construct that cannot be compiled (null: the compiler reports it).</summary>
    private sealed class ForwardError(DiagnosticInfo? diagnostic) : Exception
    {
        public DiagnosticInfo? Diagnostic { get; } = diagnostic;
    }

    /// <summary>What a local variable holds while the method is walked.</summary>
    private sealed class Binding
    {
        public int Node = -1;
        public string? Field;
        public int Element = -1;
        public int? Int;
        public bool Training; // the model's IsTraining (var t = IsTraining;)
    }

    private sealed class Walker(IMethodSymbol method, IReadOnlyList<LayerSpec> layers, SemanticModel semanticModel, CancellationToken cancellationToken)
    {
        private readonly Dictionary<ISymbol, Binding> _env = new(SymbolEqualityComparer.Default);

        public List<NodeSpec> Nodes { get; } = new();

        public int Output { get; private set; } = -1;

        public void Run(MethodDeclarationSyntax syntax)
        {
            var parameter = method.Parameters[0];
            Nodes.Add(new NodeSpec(NodeKind.Input, EquatableArray<int>.Empty, parameter.Name, LocationInfo.From(parameter.Locations.FirstOrDefault())));
            if (syntax.ExpressionBody is { } arrow)
            {
                Output = Return(semanticModel.GetOperation(arrow.Expression, cancellationToken), arrow.Expression);
                return;
            }
            if (semanticModel.GetOperation(syntax.Body!, cancellationToken) is not IBlockOperation body)
            {
                Fail(syntax.Body!, "cannot be read by the generator");
                return;
            }
            var statements = body.Operations;
            for (int i = 0; i < statements.Length; i++)
            {
                if (i == statements.Length - 1 && statements[i] is IReturnOperation ret)
                {
                    Output = Return(ret.ReturnedValue, ret.Syntax);
                }
                else
                {
                    Statement(statements[i]);
                }
            }
            if (Output < 0)
            {
                // The compiler reports "not all code paths return a value" too; the generator never gives up silently.
                Fail(LocationInfo.From(syntax.Identifier.GetLocation()), syntax.Identifier.ValueText, "does not end with 'return' of a tensor: a forward method returns once, as its last statement");
            }
        }

        private int Return(IOperation? value, SyntaxNode syntax)
        {
            if (value is null)
            {
                Fail(syntax, "returns no tensor: a forward method returns the tensor it computes");
            }
            int node = Eval(value!);
            if (node == 0)
            {
                Fail(syntax, "returns the input unchanged: a forward method must compute something from it");
            }
            return node;
        }

        private void Statement(IOperation op)
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (op)
            {
                case IBlockOperation block:
                    foreach (var child in block.Operations)
                    {
                        Statement(child);
                    }
                    break;
                case IEmptyOperation:
                    break;
                case IVariableDeclarationGroupOperation group:
                    foreach (var declaration in group.Declarations)
                    {
                        foreach (var declarator in declaration.Declarators)
                        {
                            var init = declarator.Initializer?.Value ?? declaration.Initializer?.Value;
                            _env[declarator.Symbol] = init is null ? new Binding() : Bind(init);
                        }
                    }
                    break;
                case IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: ILocalReferenceOperation local } assignment }:
                    _env[local.Local] = Bind(assignment.Value);
                    break;
                case IExpressionStatementOperation { Operation: ICompoundAssignmentOperation { Target: ILocalReferenceOperation local } compound }:
                    _env[local.Local] = new Binding { Node = Binary(compound.OperatorKind, compound.Target, compound.Value, compound.Syntax) };
                    break;
                case IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: IParameterReferenceOperation parameter } assignment }
                    when SymbolEqualityComparer.Default.Equals(parameter.Parameter, method.Parameters[0]):
                    // x = self.fc(x): the parameter names the new tensor from here on.
                    _env[parameter.Parameter] = new Binding { Node = Eval(assignment.Value) };
                    break;
                case IExpressionStatementOperation { Operation: ICompoundAssignmentOperation { Target: IParameterReferenceOperation parameter } compound }
                    when SymbolEqualityComparer.Default.Equals(parameter.Parameter, method.Parameters[0]):
                    _env[parameter.Parameter] = new Binding { Node = Binary(compound.OperatorKind, compound.Target, compound.Value, compound.Syntax) };
                    break;
                case IExpressionStatementOperation { Operation: IAssignmentOperation assignment }:
                    Fail(assignment.Syntax, IsLayerReference(assignment is ISimpleAssignmentOperation s ? s.Target : ((ICompoundAssignmentOperation)assignment).Target)
                        ? "replaces a layer: layers are fixed when the model is built, and the compiled passes are specialised to them"
                        : "assigns to something other than a local variable of the method");
                    break;
                case IExpressionStatementOperation statement:
                    Fail(statement.Operation.Syntax, Reason(statement.Operation));
                    break;
                case IForEachLoopOperation loop:
                    Foreach(loop);
                    break;
                case IForLoopOperation loop:
                    For(loop);
                    break;
                case IReturnOperation ret:
                    Fail(ret.Syntax, "returns before the end of the method: a forward method returns once, as its last statement");
                    break;
                case IConditionalOperation conditional:
                    Fail(conditional.Syntax, "branches: the compiled pass runs the same operations for every input, so an 'if' cannot be compiled");
                    break;
                case ILoopOperation loop:
                    Fail(loop.Syntax, "loops over something other than a [Layer] array: only foreach or for over a layer array of constant length is unrolled");
                    break;
                default:
                    Fail(op.Syntax, "only local tensor variables, assignments to them, foreach/for loops over a [Layer] array and one final return can be compiled");
                    break;
            }
        }

        private void Foreach(IForEachLoopOperation loop)
        {
            var collection = Unwrap(loop.Collection);
            if (collection is not IFieldReferenceOperation { Field: var field } || LayerOf(field) is not { IsArray: true } array)
            {
                Fail(loop.Collection.Syntax, "loops over something other than a [Layer] array: only foreach or for over a layer array of constant length is unrolled");
                return;
            }
            if (loop.LoopControlVariable is not IVariableDeclaratorOperation variable)
            {
                Fail(loop.Syntax, "declares its loop variable in a way that cannot be compiled");
                return;
            }
            for (int i = 0; i < array.Elements.Count; i++)
            {
                _env[variable.Symbol] = new Binding { Field = array.FieldName, Element = i };
                Statement(loop.Body);
            }
            _env.Remove(variable.Symbol);
        }

        private void For(IForLoopOperation loop)
        {
            ILocalSymbol? counter = null;
            int start = 0;
            if (loop.Before.Length == 1 && loop.Before[0] is IVariableDeclarationGroupOperation group
                && group.Declarations.SelectMany(d => d.Declarators).ToList() is [{ } declarator]
                && declarator.Symbol.Type.SpecialType == SpecialType.System_Int32
                && declarator.Initializer?.Value is { } init)
            {
                counter = declarator.Symbol;
                start = Int(init);
            }
            int step = loop.AtLoopBottom.Length != 1 ? 0 : Unwrap(loop.AtLoopBottom[0]) switch
            {
                IExpressionStatementOperation { Operation: var e } => StepOf(e, counter),
                var e => StepOf(e, counter),
            };
            if (counter is null || step == 0 || loop.Condition is not IBinaryOperation { LeftOperand: ILocalReferenceOperation left } condition
                || !SymbolEqualityComparer.Default.Equals(left.Local, counter))
            {
                Fail(loop.Syntax, "is not a counting loop 'for (int i = a; i < b; i++)' with constant bounds: only loops that run a number of times known when the project builds are unrolled");
                return;
            }
            int bound = Int(condition.RightOperand);
            Func<int, bool> test = condition.OperatorKind switch
            {
                BinaryOperatorKind.LessThan => i => i < bound,
                BinaryOperatorKind.LessThanOrEqual => i => i <= bound,
                BinaryOperatorKind.GreaterThan => i => i > bound,
                BinaryOperatorKind.GreaterThanOrEqual => i => i >= bound,
                BinaryOperatorKind.NotEquals => i => i != bound,
                _ => _ => false,
            };
            int count = 0;
            for (int i = start; test(i); i += step)
            {
                if (++count > MaxNodes)
                {
                    Fail(loop.Syntax, "runs too many times to unroll");
                }
                _env[counter] = new Binding { Int = i };
                Statement(loop.Body);
            }
            _env.Remove(counter);
        }

        private static int StepOf(IOperation e, ILocalSymbol? counter) => e switch
        {
            IIncrementOrDecrementOperation { Target: ILocalReferenceOperation l } inc when SymbolEqualityComparer.Default.Equals(l.Local, counter) =>
                inc.Kind == OperationKind.Increment ? 1 : -1,
            ICompoundAssignmentOperation { Target: ILocalReferenceOperation l, Value.ConstantValue: { HasValue: true, Value: int k } } c
                when SymbolEqualityComparer.Default.Equals(l.Local, counter) =>
                c.OperatorKind == BinaryOperatorKind.Add ? k : c.OperatorKind == BinaryOperatorKind.Subtract ? -k : 0,
            _ => 0,
        };

        private Binding Bind(IOperation value)
        {
            var layer = TryLayer(value);
            if (layer is not null)
            {
                return layer;
            }
            if (Unwrap(value).Type?.SpecialType == SpecialType.System_Int32)
            {
                return new Binding { Int = Int(value) };
            }
            if (IsScalar(value) && value.ConstantValue.HasValue)
            {
                return new Binding(); // a number (const float s = 0.5f;): its uses read the constant
            }
            if (IsTrainingFlag(value.Syntax))
            {
                return new Binding { Training = true };
            }
            return new Binding { Node = Eval(value) };
        }

        private int Eval(IOperation op)
        {
            cancellationToken.ThrowIfCancellationRequested();
            op = Unwrap(op);
            switch (op)
            {
                case IParameterReferenceOperation p when SymbolEqualityComparer.Default.Equals(p.Parameter, method.Parameters[0]):
                    return _env.TryGetValue(p.Parameter, out var reassigned) ? reassigned.Node : 0;
                case ILocalReferenceOperation l:
                    if (_env.TryGetValue(l.Local, out var b) && b.Node >= 0)
                    {
                        return b.Node;
                    }
                    Fail(op.Syntax, b is null || (b.Field is null && b.Int is null)
                        ? "reads a variable that does not hold a tensor computed in this method"
                        : "is a layer or a number, not a tensor");
                    return -1;
                case IInvocationOperation invocation:
                    return Invocation(invocation);
                case IBinaryOperation binary when IsTensor(binary.OperatorMethod?.ContainingType)
                    || (binary.OperatorMethod is null && !(IsScalar(binary.LeftOperand) && IsScalar(binary.RightOperand))):
                    // (no operator method: an operand is a nested model's Forward, not yet generated)
                    return Binary(binary.OperatorKind, binary.LeftOperand, binary.RightOperand, binary.Syntax);
                case IUnaryOperation { OperatorKind: UnaryOperatorKind.Plus } plus:
                    return Eval(plus.Operand);
                case IUnaryOperation { OperatorKind: UnaryOperatorKind.Minus } minus when IsTensor(minus.OperatorMethod?.ContainingType):
                    return Add(new NodeSpec(NodeKind.Affine, new[] { Eval(minus.Operand) }.ToEquatableArray(), Text(minus.Syntax), Where(minus.Syntax)) { Scale = -1f });
                case IInvalidOperation invalid when invalid.Syntax is InvocationExpressionSyntax
                {
                    Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Forward" } access,
                    ArgumentList.Arguments: [{ } argument],
                } call:
                    // A nested [Model]'s Forward is generated, so it does not bind in the compilation the generator sees.
                    return LayerCall(semanticModel.GetOperation(access.Expression, cancellationToken), semanticModel.GetOperation(argument.Expression, cancellationToken), call);
                case IInvalidOperation invalid when invalid.Syntax is InvocationExpressionSyntax
                {
                    Expression: MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "F" } } function,
                } fcall:
                    // An F function of a value that does not bind yet (a nested model's result, IsTraining): read from the syntax.
                    return FunctionFromSyntax(function.Name.Identifier.ValueText, fcall);
                case IInvalidOperation invalid:
                    // Never give up silently: the compiler may see no error once the generated code exists.
                    Fail(invalid.Syntax, "cannot be read by the generator (it does not bind before the code is generated): "
                        + "assign a nested model's result to a local, or write the expression with layer calls, F functions and + - *");
                    return -1;
                default:
                    Fail(op.Syntax, Reason(op));
                    return -1;
            }
        }

        private int Invocation(IInvocationOperation invocation)
        {
            var target = invocation.TargetMethod;
            if (target.Name == "Forward" && invocation.Instance is not null && invocation.Arguments.Length == 1)
            {
                return LayerCall(invocation.Instance, invocation.Arguments[0].Value, invocation.Syntax);
            }
            if (target.IsStatic && target.ContainingType?.ToDisplayString() == FunctionsType)
            {
                IOperation? Arg(string name) => invocation.Arguments.FirstOrDefault(a => a.Parameter?.Name == name && a.ArgumentKind != ArgumentKind.DefaultValue)?.Value;
                var syntax = invocation.Syntax;
                switch (target.Name)
                {
                    case "Relu":
                        return Unary(NodeKind.Relu, invocation.Arguments[0].Value, syntax);
                    case "Sigmoid":
                        return Unary(NodeKind.Sigmoid, invocation.Arguments[0].Value, syntax);
                    case "Tanh":
                        return Unary(NodeKind.Tanh, invocation.Arguments[0].Value, syntax);
                    case "Softmax":
                        if (Arg("dim") is { } dim && dim.ConstantValue.Value is not (1 or -1))
                        {
                            Fail(dim.Syntax, "is not 1 or -1: softmax runs over the features of [batch, features]");
                        }
                        return Unary(NodeKind.Softmax, invocation.Arguments[0].Value, syntax);
                    case "Dropout":
                    {
                        float p = 0.5f;
                        if (Arg("p") is { } pArg)
                        {
                            p = Constant(pArg, "the dropout probability");
                            if (!(p >= 0f && p <= 1f))
                            {
                                Fail(pArg.Syntax, "is not a probability between 0 and 1");
                            }
                        }
                        bool followsModel = false;
                        if (Arg("training") is { } training)
                        {
                            if (training.ConstantValue is { HasValue: true, Value: bool always })
                            {
                                if (!always)
                                {
                                    return Eval(invocation.Arguments[0].Value); // F.Dropout(x, p, false) is the identity
                                }
                            }
                            else if (IsTrainingFlag(training.Syntax))
                            {
                                followsModel = true;
                            }
                            else
                            {
                                Fail(training.Syntax, "is neither a constant nor the model's IsTraining");
                            }
                        }
                        int x = Eval(invocation.Arguments[0].Value);
                        return Add(new NodeSpec(NodeKind.Dropout, new[] { x }.ToEquatableArray(), Text(syntax), Where(syntax)) { P = p, FollowsModelMode = followsModel });
                    }
                    case "Cat":
                        if (invocation.Arguments[0].Value is IArrayCreationOperation { Initializer: { } list } && list.ElementValues.Length > 0)
                        {
                            var inputs = list.ElementValues.Select(Eval).ToList();
                            return Add(new NodeSpec(NodeKind.Cat, inputs.ToEquatableArray(), Text(syntax), Where(syntax)));
                        }
                        Fail(invocation.Arguments[0].Syntax, "is not a list of tensors: write F.Cat(a, b, ...) with the tensors as arguments");
                        return -1;
                }
            }
            Fail(invocation.Syntax, Reason(invocation));
            return -1;
        }

        private int FunctionFromSyntax(string name, InvocationExpressionSyntax call)
        {
            var args = call.ArgumentList.Arguments;
            IOperation Op(ExpressionSyntax e) => semanticModel.GetOperation(e, cancellationToken) ?? throw new ForwardError(DiagnosticInfo.Create("CN0012", Where(e), Text(e),
                "cannot be read by the generator"));
            ArgumentSyntax? Named(string parameter, int position) =>
                args.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == parameter)
                ?? (position < args.Count && args[position].NameColon is null ? args[position] : null);
            switch (name)
            {
                case "Relu" or "Sigmoid" or "Tanh" when args.Count == 1:
                    return Unary(name == "Relu" ? NodeKind.Relu : name == "Sigmoid" ? NodeKind.Sigmoid : NodeKind.Tanh, Op(args[0].Expression), call);
                case "Softmax" when args.Count is 1 or 2:
                    if (Named("dim", 1) is { } dim && semanticModel.GetConstantValue(dim.Expression, cancellationToken).Value is not (1 or -1))
                    {
                        Fail(dim.Expression, "is not 1 or -1: softmax runs over the features of [batch, features]");
                    }
                    return Unary(NodeKind.Softmax, Op(args[0].Expression), call);
                case "Dropout" when args.Count is >= 1 and <= 3:
                {
                    float p = 0.5f;
                    if (Named("p", 1) is { } probability)
                    {
                        var pValue = semanticModel.GetConstantValue(probability.Expression, cancellationToken);
                        if (!pValue.HasValue || pValue.Value is not (float or double or int))
                        {
                            Fail(probability.Expression, "is not a compile-time constant: the dropout probability in a forward method is compiled into the passes, so it must be a constant");
                        }
                        p = Convert.ToSingle(pValue.Value, CultureInfo.InvariantCulture);
                        if (!(p >= 0f && p <= 1f))
                        {
                            Fail(probability.Expression, "is not a probability between 0 and 1");
                        }
                    }
                    bool followsModel = false;
                    if (Named("training", 2) is { } training)
                    {
                        var constant = semanticModel.GetConstantValue(training.Expression, cancellationToken);
                        if (constant is { HasValue: true, Value: false })
                        {
                            return Eval(Op(args[0].Expression));
                        }
                        if (constant is not { HasValue: true, Value: true })
                        {
                            if (!IsTrainingFlag(training.Expression))
                            {
                                Fail(training.Expression, "is neither a constant nor the model's IsTraining");
                            }
                            followsModel = true;
                        }
                    }
                    int dropped = Eval(Op(args[0].Expression));
                    return Add(new NodeSpec(NodeKind.Dropout, new[] { dropped }.ToEquatableArray(), Text(call), Where(call)) { P = p, FollowsModelMode = followsModel });
                }
                case "Cat" when args.Count > 0 && args.All(a => a.NameColon is null):
                {
                    var inputs = args.Select(a => Eval(Op(a.Expression))).ToList();
                    return Add(new NodeSpec(NodeKind.Cat, inputs.ToEquatableArray(), Text(call), Where(call)));
                }
            }
            Fail(call, "calls 'F." + name + "' in a form the generator cannot compile: a forward method may call F.Relu, F.Sigmoid, F.Tanh, "
                + "F.Softmax(x, dim: 1), F.Dropout(x, p, IsTraining) and F.Cat(a, b, ...)");
            return -1;
        }

        /// <summary>The model's <c>IsTraining</c>, or a local that holds it.</summary>
        private bool IsTrainingFlag(SyntaxNode syntax)
        {
            if (IsModelTraining(syntax))
            {
                return true;
            }
            return syntax is IdentifierNameSyntax && semanticModel.GetSymbolInfo(syntax, cancellationToken).Symbol is ILocalSymbol local
                && _env.TryGetValue(local, out var b) && b.Training;
        }

        private int LayerCall(IOperation? receiver, IOperation? argument, SyntaxNode syntax)
        {
            var layer = receiver is null ? null : TryLayer(receiver);
            if (layer is null || argument is null)
            {
                Fail(syntax, "calls Forward on something that is not a [Layer] field (or an element of a [Layer] array) of this model");
                return -1;
            }
            int x = Eval(argument);
            return Add(new NodeSpec(NodeKind.Layer, new[] { x }.ToEquatableArray(), Text(syntax), Where(syntax)) { Field = layer.Field, Element = layer.Element });
        }

        private int Unary(NodeKind kind, IOperation argument, SyntaxNode syntax)
        {
            int x = Eval(argument);
            return Add(new NodeSpec(kind, new[] { x }.ToEquatableArray(), Text(syntax), Where(syntax)));
        }

        private int Binary(BinaryOperatorKind kind, IOperation left, IOperation right, SyntaxNode syntax)
        {
            bool lt = !IsScalar(left), rt = !IsScalar(right);
            string text = Text(syntax);
            var where = Where(syntax);
            if (lt && rt)
            {
                var nodeKind = kind switch
                {
                    BinaryOperatorKind.Add => NodeKind.Add,
                    BinaryOperatorKind.Subtract => NodeKind.Subtract,
                    BinaryOperatorKind.Multiply => NodeKind.Multiply,
                    _ => (NodeKind?)null,
                };
                if (nodeKind is null)
                {
                    Fail(syntax, "divides two tensors: only +, - and * of tensors, and a division by a float constant, can be compiled");
                }
                int a = Eval(left), b = Eval(right);
                return Add(new NodeSpec(nodeKind!.Value, new[] { a, b }.ToEquatableArray(), text, where));
            }
            var tensor = lt ? left : right;
            float c = Constant(lt ? right : left, "a scalar");
            (float scale, float shift) = (kind, lt) switch
            {
                (BinaryOperatorKind.Add, _) => (1f, c),
                (BinaryOperatorKind.Subtract, true) => (1f, -c),
                (BinaryOperatorKind.Subtract, false) => (-1f, c),
                (BinaryOperatorKind.Multiply, _) => (c, 0f),
                (BinaryOperatorKind.Divide, true) => (1f / c, 0f),
                _ => (1f, 0f),
            };
            if (kind == BinaryOperatorKind.Divide && !lt) // a constant divided by a tensor (a NaN scale is the user's h * float.NaN)
            {
                Fail(syntax, "divides by a tensor: only a division of a tensor by a float constant can be compiled");
            }
            int x = Eval(tensor);
            return scale == 1f && shift == 0f ? x : Add(new NodeSpec(NodeKind.Affine, new[] { x }.ToEquatableArray(), text, where) { Scale = scale, Shift = shift });
        }

        private float Constant(IOperation op, string what)
        {
            if (op.ConstantValue is { HasValue: true, Value: { } v } && v is float or double or int or long or short or byte or decimal)
            {
                return Convert.ToSingle(v, CultureInfo.InvariantCulture);
            }
            Fail(op.Syntax, "is not a compile-time constant: " + what + " in a forward method is compiled into the passes, so it must be a constant");
            return 0f;
        }

        private int Int(IOperation op)
        {
            op = Unwrap(op);
            if (op.ConstantValue is { HasValue: true, Value: int constant })
            {
                return constant;
            }
            switch (op)
            {
                case ILocalReferenceOperation l when _env.TryGetValue(l.Local, out var b) && b.Int is int value:
                    return value;
                case IPropertyReferenceOperation { Property.Name: "Length", Instance: { } instance }
                    when Unwrap(instance) is IFieldReferenceOperation { Field: var f } && LayerOf(f) is { IsArray: true } array:
                    return array.Elements.Count;
                case IBinaryOperation { OperatorKind: BinaryOperatorKind.Add or BinaryOperatorKind.Subtract or BinaryOperatorKind.Multiply } b2:
                    int l2 = Int(b2.LeftOperand), r2 = Int(b2.RightOperand);
                    return b2.OperatorKind == BinaryOperatorKind.Add ? l2 + r2 : b2.OperatorKind == BinaryOperatorKind.Subtract ? l2 - r2 : l2 * r2;
            }
            Fail(op.Syntax, "is not known when the project builds: loop bounds and layer-array indices must be constants, loop counters or a layer array's Length");
            return 0;
        }

        private Binding? TryLayer(IOperation op)
        {
            op = Unwrap(op);
            switch (op)
            {
                case IFieldReferenceOperation { Field: var f } when LayerOf(f) is { IsArray: false } layer:
                    return new Binding { Field = layer.FieldName };
                case IArrayElementReferenceOperation { ArrayReference: var arrayRef, Indices: [{ } index] }
                    when Unwrap(arrayRef) is IFieldReferenceOperation { Field: var f } && LayerOf(f) is { IsArray: true } array:
                    int i = Int(index);
                    if (i < 0 || i >= array.Elements.Count)
                    {
                        throw new ForwardError(DiagnosticInfo.Create("CN0016", Where(index.Syntax), i.ToString(CultureInfo.InvariantCulture),
                            array.FieldName, array.Elements.Count.ToString(CultureInfo.InvariantCulture)));
                    }
                    return new Binding { Field = array.FieldName, Element = i };
                case ILocalReferenceOperation l when _env.TryGetValue(l.Local, out var b) && b.Field is not null:
                    return b;
                default:
                    return null;
            }
        }

        private bool IsLayerReference(IOperation op) => Unwrap(op) switch
        {
            IFieldReferenceOperation { Field: var f } => LayerOf(f) is not null,
            IArrayElementReferenceOperation { ArrayReference: var a } => Unwrap(a) is IFieldReferenceOperation { Field: var f } && LayerOf(f) is not null,
            _ => false,
        };

        private LayerSpec? LayerOf(IFieldSymbol field) =>
            SymbolEqualityComparer.Default.Equals(field.ContainingType, method.ContainingType)
                ? layers.FirstOrDefault(l => l.FieldName == field.Name)
                : null;

        private int Add(NodeSpec node)
        {
            if (Nodes.Count >= MaxNodes)
            {
                Fail(node.Location, node.Text, "unrolls to more than " + MaxNodes + " operations");
            }
            Nodes.Add(node);
            return Nodes.Count - 1;
        }

        private static string Reason(IOperation op) => op switch
        {
            IInvocationOperation { TargetMethod: var m } =>
                "calls '" + m.ContainingType?.Name + "." + m.Name + "', which the generator cannot compile: a forward method may call the Forward of its [Layer] fields and the functions of F",
            IObjectCreationOperation or IArrayCreationOperation => "creates an object: a forward method may only compute tensors from its input with layers, F and + - *",
            IConditionalOperation => "branches: the compiled pass runs the same operations for every input, so a conditional cannot be compiled",
            IFieldReferenceOperation or IPropertyReferenceOperation => "reads a field or property: a forward method may only use its input, its locals and its [Layer] fields' Forward",
            _ => "is not one of the operations a forward method may contain (layer calls, F functions, + - * of tensors and by float constants)",
        };

        private static IOperation Unwrap(IOperation op)
        {
            while (op is IConversionOperation conversion)
            {
                op = conversion.Operand;
            }
            return op;
        }

        private static bool IsModelTraining(SyntaxNode syntax) =>
            syntax is IdentifierNameSyntax { Identifier.ValueText: "IsTraining" }
                or MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name.Identifier.ValueText: "IsTraining" };

        private static bool IsTensor(ITypeSymbol? type) => type?.ToDisplayString() == TensorType;

        /// <summary>A number rather than a tensor (an operand whose type is not bound yet counts as a tensor).</summary>
        private static bool IsScalar(IOperation op) =>
            op.ConstantValue.HasValue || Unwrap(op).Type?.SpecialType is SpecialType.System_Single or SpecialType.System_Double
                or SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Decimal;

        private static string Text(SyntaxNode syntax) => syntax.ToString();

        private static LocationInfo? Where(SyntaxNode syntax) => LocationInfo.From(syntax.GetLocation());

        private static void Fail(SyntaxNode syntax, string reason) => Fail(Where(syntax), Text(syntax), reason);

        private static void Fail(LocationInfo? location, string text, string reason) =>
            throw new ForwardError(DiagnosticInfo.Create("CN0012", location, text, reason));
    }
}
