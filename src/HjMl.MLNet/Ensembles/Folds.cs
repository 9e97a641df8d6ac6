using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Ensembles;

/// <summary>
/// The rows of a data view dealt into F folds: the positions 0..N-1 are shuffled with a seeded Fisher–Yates shuffle
/// and the row at place i of the shuffle goes to fold i mod F, so folds differ in size by at most one row and every row
/// is held out exactly once. Views of one fold's rows, or of all the others, read the source in its order.
/// </summary>
internal sealed class Folds
{
    private readonly IDataView data;
    private readonly int[] foldOf;

    /// <exception cref="ArgumentException">The data have fewer rows than folds.</exception>
    public Folds(IDataView data, int count, int seed)
    {
        this.data = data;
        Count = count;
        long rows = data.GetRowCount() ?? CountRows(data);
        if (rows < count)
        {
            throw new ArgumentException($"The data have {rows} rows, fewer than NumberOfFolds ({count}); every fold needs at least one row to hold out.", nameof(data));
        }

        int[] order = [.. Enumerable.Range(0, checked((int)rows))];
        var random = new Random(seed);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        foldOf = new int[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            foldOf[order[i]] = i % count;
        }
    }

    /// <summary>F.</summary>
    public int Count { get; }

    /// <summary>N, the rows of the data.</summary>
    public int Rows => foldOf.Length;

    /// <summary>The fold that holds row <paramref name="row"/> out.</summary>
    public int FoldOf(int row) => foldOf[row];

    /// <summary>The positions of fold <paramref name="fold"/>'s rows, in the data's order.</summary>
    public int[] HeldOutRows(int fold) => [.. Enumerable.Range(0, foldOf.Length).Where(row => foldOf[row] == fold)];

    /// <summary>The rows of every fold but <paramref name="fold"/>: what a member is fitted on.</summary>
    public IDataView Training(int fold) => new FoldView(data, foldOf, fold, heldOut: false);

    /// <summary>The rows of fold <paramref name="fold"/>: what the member fitted without them scores.</summary>
    public IDataView HeldOut(int fold) => new FoldView(data, foldOf, fold, heldOut: true);

    private static long CountRows(IDataView data)
    {
        long rows = 0;
        using DataViewRowCursor cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            rows++;
        }

        return rows;
    }

    /// <summary>The source's rows in fold <c>fold</c> (held out) or in the others, in the source's order.</summary>
    private sealed class FoldView(IDataView source, int[] foldOf, int fold, bool heldOut) : IDataView
    {
        // Row order is what ties a held-out score to its row, so the view never shuffles.
        public bool CanShuffle => false;

        public DataViewSchema Schema => source.Schema;

        public long? GetRowCount() => foldOf.Count(other => (other == fold) == heldOut);

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
            => new Cursor(source.GetRowCursor(columnsNeeded), this);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => [GetRowCursor(columnsNeeded)];

        private bool Keeps(long position) => (foldOf[position] == fold) == heldOut;

        private sealed class Cursor(DataViewRowCursor input, FoldView view) : DataViewRowCursor
        {
            private long position = -1;

            public override long Position => position;

            public override long Batch => 0;

            public override DataViewSchema Schema => input.Schema;

            public override bool MoveNext()
            {
                while (input.MoveNext())
                {
                    if (view.Keeps(input.Position))
                    {
                        position++;
                        return true;
                    }
                }

                return false;
            }

            public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

            public override bool IsColumnActive(DataViewSchema.Column column) => input.IsColumnActive(column);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => input.GetGetter<TValue>(column);

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    input.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }
}
