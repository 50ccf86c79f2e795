using RnnCore.Internal;

namespace RnnCore.Training;

// The Trainer's batch buffers: bounded by the batch sizes it meets, not by the number of distinct sequence lengths.
public sealed partial class Trainer<T>
{
    /// <summary>
    /// One <see cref="BatchBuffers"/> per batch size (the configured size and the few sizes of last, partial batches),
    /// sized to the longest batch seen so far and reused, over a prefix of its steps, for every shorter one. A dataset
    /// of many lengths therefore holds one cache and one gradient set per batch size, never one per length; a longer
    /// batch replaces the buffers of its size with larger ones (and the old ones become garbage).
    /// </summary>
    private sealed class BatchBufferSet
    {
        private readonly Dictionary<int, BatchBuffers> _bySize = [];

        public BatchBuffers For(TrainableNetwork<T> network, int steps, int batch, bool lastStep, bool classes)
        {
            if (!_bySize.TryGetValue(batch, out BatchBuffers? buffers) || buffers.Capacity < steps || buffers.Classes is null != !classes)
            {
                buffers = new BatchBuffers(network, steps, batch, lastStep, classes);
                _bySize[batch] = buffers;
            }

            buffers.UseSteps(steps, lastStep ? 1 : steps);
            return buffers;
        }
    }

    /// <summary>
    /// The padded inputs and targets of a batch size, and its cache and gradients (created when first needed), all with
    /// room for <see cref="Capacity"/> steps, of which the current batch uses <see cref="Steps"/>.
    /// </summary>
    private sealed class BatchBuffers
    {
        private readonly int _batch;
        private readonly TrainableNetwork<T> _network;
        private NetworkPass<T>? _pass;

        public BatchBuffers(TrainableNetwork<T> network, int capacity, int batch, bool lastStep, bool classes)
        {
            _network = network;
            Capacity = capacity;
            Steps = capacity;
            _batch = batch;
            int targetCapacity = lastStep ? 1 : capacity;
            Inputs = new T[Guard.ElementCount<T>(network.InputSize, (long)capacity * batch, "batch inputs")];
            Ids = new int[Guard.ElementCount<int>(1, (long)capacity * batch, "batch token ids")];
            Lengths = new int[batch];
            if (classes)
            {
                Classes = new int[targetCapacity * batch];
                Targets = SequenceTargets<T>.Create(targetCapacity, batch, 0, Classes, null);
            }
            else
            {
                Values = new T[network.OutputSize * targetCapacity * batch];
                Targets = SequenceTargets<T>.Create(targetCapacity, batch, network.OutputSize, null, Values);
            }
        }

        public int Capacity { get; }

        public int Steps { get; private set; }

        public T[] Inputs { get; } // [I, Capacity·B]; the first Steps·B columns hold the batch, zeros past each end

        public int[] Ids { get; } // [Capacity·B] token ids of a token dataset, position order, −1 past each end

        public bool Tokens { get; set; } // true when the batch holds token ids (Ids), not vectors (Inputs)

        public int[] Lengths { get; }

        public bool Padded { get; set; }

        public int[]? Classes { get; }

        public T[]? Values { get; }

        public SequenceTargets<T> Targets { get; }

        public void UseSteps(int steps, int targetSteps)
        {
            Steps = steps;
            Targets.UseSteps(targetSteps);
        }

        /// <summary>The pass of this batch size over <see cref="Steps"/> steps (created when first needed).</summary>
        public NetworkPass<T> FullPass(LossPlacement placement, LossReduction reduction)
        {
            _pass ??= _network.CreatePass(Capacity, _batch, placement, reduction);
            _pass.UseSteps(Steps);
            return _pass;
        }
    }
}
