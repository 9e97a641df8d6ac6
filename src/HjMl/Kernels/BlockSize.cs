namespace HjMl.Kernels;

/// <summary>A register block's extent as a type, so that the JIT compiles each shape with its size as a constant.</summary>
internal interface IBlockSize
{
    /// <summary>Rows, or vectors of columns.</summary>
    static abstract int Count { get; }
}

/// <summary>1.</summary>
internal readonly struct BlockOfOne : IBlockSize
{
    public static int Count => 1;
}

/// <summary>2.</summary>
internal readonly struct BlockOfTwo : IBlockSize
{
    public static int Count => 2;
}

/// <summary>3.</summary>
internal readonly struct BlockOfThree : IBlockSize
{
    public static int Count => 3;
}

/// <summary>4.</summary>
internal readonly struct BlockOfFour : IBlockSize
{
    public static int Count => 4;
}

/// <summary>5.</summary>
internal readonly struct BlockOfFive : IBlockSize
{
    public static int Count => 5;
}

/// <summary>6.</summary>
internal readonly struct BlockOfSix : IBlockSize
{
    public static int Count => 6;
}

/// <summary>7.</summary>
internal readonly struct BlockOfSeven : IBlockSize
{
    public static int Count => 7;
}

/// <summary>8.</summary>
internal readonly struct BlockOfEight : IBlockSize
{
    public static int Count => 8;
}
