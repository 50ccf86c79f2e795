using RnnCore.Cells;

namespace RnnCore.Tests.Models;

/// <summary>
/// The cell registry is the one list of cells: every <see cref="RecurrentCellKind"/> has exactly one description, and
/// the codes and names files use to name a cell are unique (a repeated one would read a file as another cell).
/// </summary>
public sealed class CellRegistryTests
{
    [Fact]
    public void Every_kind_has_one_description_with_unique_file_code_and_names()
    {
        CellRegistry.All.Select(c => c.Kind).Distinct().Should().BeEquivalentTo(Enum.GetValues<RecurrentCellKind>());
        CellRegistry.All.Select(c => (c.Kind, c.HasProjection)).Should().OnlyHaveUniqueItems();
        CellRegistry.All.Select(c => c.FileCode).Should().OnlyHaveUniqueItems();
        CellRegistry.All.Select(c => c.SafeTensorsName).Should().OnlyHaveUniqueItems();
        foreach (CellDescription cell in CellRegistry.All)
        {
            int? projection = cell.HasProjection ? 3 : null;
            CellRegistry.Of(cell.Kind, projection).Should().BeSameAs(cell);
            CellRegistry.ByFileCode(cell.FileCode).Should().BeSameAs(cell);
            CellRegistry.BySafeTensorsName(cell.SafeTensorsName).Should().BeSameAs(cell);
            cell.Tensors.Take(4).Select(t => t.Name).Should().Equal("weight_ih", "weight_hh", "bias_ih", "bias_hh");
            cell.Create<float>(HiddenActivation.Tanh, projection).Description.Should().BeSameAs(cell);
        }

        CellRegistry.ByFileCode(0).Should().BeNull();
        CellRegistry.BySafeTensorsName("peephole_lstm").Should().BeNull();
    }

    [Theory]
    [InlineData(RecurrentCellKind.Vanilla, 1, false, "nn.RNN", "rnn")]
    [InlineData(RecurrentCellKind.Lstm, 4, true, "nn.LSTM", "lstm")]
    [InlineData(RecurrentCellKind.Gru, 3, false, "nn.GRU", "gru")]
    public void Each_description_states_PyTorch_s_module_gates_and_state(RecurrentCellKind kind, int gates, bool carriesC, string module, string name)
    {
        CellDescription cell = CellRegistry.Of(kind);
        (cell.Gates, cell.HasCellState, cell.PyTorchModule, cell.SafeTensorsName).Should().Be((gates, carriesC, module, name));

        // PyTorch's shapes for n_in = 7, H = 5: W_ih [G·H, n_in], W_hh [G·H, H], biases [G·H], each drawn from U(−1/√H, 1/√H).
        cell.Tensors.Select(t => t.Shape(7, 5, 5)).Should().Equal((gates * 5L, 7L), (gates * 5L, 5L), (gates * 5L, 1L), (gates * 5L, 1L));
        cell.Tensors.Select(t => t.Bound(25)).Should().AllBeEquivalentTo(0.2);
    }

    [Fact]
    public void The_LSTM_with_projections_is_its_own_description_chosen_by_P()
    {
        CellDescription plain = CellRegistry.Of(RecurrentCellKind.Lstm);
        CellDescription projected = CellRegistry.Of(RecurrentCellKind.Lstm, projectionSize: 3);
        projected.Should().NotBeSameAs(plain);
        (projected.HasProjection, plain.HasProjection, projected.Gates, projected.HasCellState).Should().Be((true, false, 4, true));
        projected.FileCode.Should().NotBe(plain.FileCode);
        projected.Onnx.Should().BeNull("ONNX's LSTM has no projection");
        (projected.StateSize(5, 3), plain.StateSize(5, null)).Should().Be((3, 5));

        // PyTorch's nn.LSTM(7, 5, proj_size=3): W_ih [20, 7], W_hh [20, 3], biases [20], then weight_hr [3, 5], all U(−1/√H, 1/√H).
        projected.Tensors.Select(t => t.Name).Should().Equal("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr");
        projected.Tensors.Select(t => t.Shape(7, 5, 3)).Should().Equal((20L, 7L), (20L, 3L), (20L, 1L), (20L, 1L), (3L, 5L));
        projected.Tensors.Select(t => t.Bound(25)).Should().AllBeEquivalentTo(0.2);
        projected.Create<double>(HiddenActivation.Tanh, 3).Description.Should().BeSameAs(projected);

        FluentActions.Invoking(() => CellRegistry.Of(RecurrentCellKind.Gru, projectionSize: 3)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("*projection size P = 3*Lstm*");
    }
}
