using CompiledNets.Data;
using Xunit;

namespace CompiledNets.Tests.Data;

public class CsvLoaderTests
{
    [Fact]
    public void LoadsIrisWithClassNames()
    {
        var iris = CsvLoader.Load(DataTestHelpers.DataPath("iris.csv"));
        Assert.Equal([150, 4], iris.Features.Shape.ToArray());
        Assert.Equal(["sepal_length", "sepal_width", "petal_length", "petal_width"], iris.FeatureNames);
        Assert.Equal(["setosa", "versicolor", "virginica"], iris.ClassNames);
        Assert.Equal([5.1f, 3.5f, 1.4f, 0.2f], iris.Features.AsSpan()[..4].ToArray());
        Assert.Equal(0, iris.Labels[0]);
        Assert.Equal(2, iris.Labels[149]);
        Assert.Equal(3, iris.ToDataset().NumClasses);
    }

    [Fact]
    public void LoadsDigitsWithIntegerLabels()
    {
        var digits = CsvLoader.Load(DataTestHelpers.DataPath("digits.csv"));
        Assert.Equal([1797, 64], digits.Features.Shape.ToArray());
        Assert.Equal(10, digits.NumClasses);
        Assert.Equal("pixel63", digits.FeatureNames[^1]);
        Assert.Equal(0, digits.Labels[0]);
        Assert.Equal(1, digits.Labels[1]);
        Assert.InRange(digits.Features.ToArray().Max(), 16f, 16f);
    }

    [Fact]
    public void ALabelColumnCanBeNamedAndQuotedFieldsAndBlankLinesAreRead()
    {
        const string text = "kind,a,\"b\"\n\"x, y\", 1.5 ,2e1\n\nz,-3,4\n";
        var data = CsvLoader.Load(new StringReader(text), labelColumn: "kind");
        Assert.Equal(["a", "b"], data.FeatureNames);
        Assert.Equal(["x, y", "z"], data.ClassNames);
        Assert.Equal([1.5f, 20f, -3f, 4f], data.Features.ToArray());
        Assert.Equal([0, 1], data.Labels.ToArray());
    }

    [Fact]
    public void WithoutAHeaderTheLastColumnIsTheLabel()
    {
        var data = CsvLoader.Load(new StringReader("1,2,1\n3,4,0\n"), hasHeader: false);
        Assert.Equal(["column1", "column2"], data.FeatureNames);
        Assert.Equal([1, 0], data.Labels.ToArray());
        Assert.Equal(["0", "1"], data.ClassNames);
    }

    [Fact]
    public void ANonNumericCellNamesTheRowAndTheColumn()
    {
        const string text = "a,b,label\n1,2,x\n3,abc,y\n";
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader(text), sourceName: "t.csv"));
        Assert.Equal(2, e.Row);
        Assert.Equal("b", e.Column);
        Assert.Contains("t.csv: data row 2 (line 3), column 'b' (2): 'abc' is not a number", e.Message);
    }

    [Fact]
    public void AnEmptyOrNonFiniteCellIsRejected()
    {
        Assert.Contains("column 'a' (1): is empty", Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("a,label\n,x\n"))).Message);
        Assert.Contains("'NaN' is not a finite number", Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("a,label\nNaN,x\n"))).Message);
        Assert.Contains("the label is empty", Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("a,label\n1,\n"))).Message);
    }

    [Fact]
    public void ARaggedRowIsRejected()
    {
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("a,b,label\n1,2,x\n3,y\n")));
        Assert.Equal(2, e.Row);
        Assert.Contains("data row 2 (line 3) has 2 fields; expected 3 like the header", e.Message);
    }

    [Fact]
    public void AnEmptyFileAndAHeaderWithoutRowsAreRejected()
    {
        Assert.Contains("the file is empty", Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader(""))).Message);
        Assert.Contains("no data rows", Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("a,b,label\n"))).Message);
    }

    [Fact]
    public void AMissingLabelColumnListsTheColumns()
    {
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("a,b\n1,2\n"), labelColumn: "species"));
        Assert.Contains("no column is named 'species'; the columns are 'a', 'b'", e.Message);
    }

    [Fact]
    public void ALabelInAnotherColumnOrAnotherDelimiterIsHinted()
    {
        var label = Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("label,a\ncat,1\n")));
        Assert.Contains("column 'label' (1): 'cat' is not a number", label.Message);
        Assert.Contains("pass labelColumn: \"label\"", label.Message);
        var semicolons = Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader("a;b;label\n1;2;x\n")));
        Assert.Contains("pass delimiter:", semicolons.Message);
        var data = CsvLoader.Load(new StringReader("a;b;label\n1;2;x\n"), delimiter: ';');
        Assert.Equal("TabularData(1 rows; features: a, b; classes: x)", data.ToString());
    }
}
