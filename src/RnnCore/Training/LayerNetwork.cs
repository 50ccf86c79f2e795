namespace RnnCore.Training;

/// <summary>The <see cref="TrainableNetwork{T}"/> of a <see cref="RecurrentLayer{T}"/>: the Trainer's original path, call for call.</summary>
internal sealed class LayerNetwork<T> : TrainableNetwork<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private Bptt<T>? _bptt;

    public LayerNetwork(RecurrentLayer<T> layer) => Layer = layer;

    public RecurrentLayer<T> Layer { get; }

    public override int InputSize => Layer.InputSize;

    public override int OutputSize => Layer.OutputSize;

    public override OutputActivation OutputActivation => Layer.OutputActivation;

    public override TensorSet<T> Parameters => Layer.Parameters;

    public override int StateRows => Layer.HiddenSize;

    public override int LayerDirections => 1;

    public override NetworkPass<T> CreatePass(int capacity, int batch, LossPlacement placement, LossReduction reduction)
    {
        _bptt ??= new Bptt<T>(Layer, placement, reduction);
        return new Pass(this, _bptt, capacity, batch);
    }

    public override double SpectralRadius(int layerDirection) => GradientHealth.EstimateSpectralRadius(Layer.Wh);

    public override (int Layer, int Direction) Locate(int layerDirection) => (0, 0);

    private sealed class Pass : NetworkPass<T>
    {
        private readonly LayerNetwork<T> _network;
        private readonly Bptt<T> _bptt;
        private readonly ForwardCache<T> _cache;
        private readonly T[] _output; // [O]: the column Output returns
        private RecurrentGradients<T>? _gradients;

        public Pass(LayerNetwork<T> network, Bptt<T> bptt, int capacity, int batch)
        {
            _network = network;
            _bptt = bptt;
            _cache = network.Layer.CreateCache(capacity, batch);
            _output = new T[network.OutputSize];
            Capacity = capacity;
        }

        public override int Capacity { get; }

        public override int Batch => _cache.Batch;

        public override int Steps => _cache.Steps;

        public override Span<T> Inputs => _cache.Inputs;

        public override int[] Lengths => _cache.Lengths;

        public override bool HasLengths
        {
            set => _cache.HasLengths = value;
        }

        public override ReadOnlySpan<T> Output(int column)
        {
            _cache.OutputColumns(column, 1, _output);
            return _output;
        }

        public override TensorSet<T> ParameterGradients => Gradients.ParameterGradients;

        private RecurrentGradients<T> Gradients
        {
            get
            {
                _gradients ??= _network.Layer.CreateGradients(Capacity, _cache.Batch);
                if (_gradients.Steps != _cache.Steps)
                {
                    _gradients.UseSteps(_cache.Steps);
                }

                return _gradients;
            }
        }

        public override void UseSteps(int steps) => _cache.UseSteps(steps);

        public override void LoadState(ReadOnlySpan<T> state) => state.CopyTo(_cache.HiddenBlock(0));

        public override void StoreFinalState(Span<T> state) => _cache.HiddenBlock(_cache.Steps).CopyTo(state);

        public override void Forward(bool training) => _network.Layer.ForwardCore(_cache);

        public override double Loss(SequenceTargets<T> targets) => double.CreateTruncating(_bptt.Loss(_cache, targets));

        public override double Backward(SequenceTargets<T> targets, int targetStep0) =>
            double.CreateTruncating(_bptt.BackwardCore(_cache, targets, targetStep0, Gradients));

        public override ReadOnlySpan<double> DhNorms(int layerDirection) => Gradients.DhNormsData;
    }
}
