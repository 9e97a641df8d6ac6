namespace HjMl.Training.Optimizers;

/// <summary>What an optimiser asks of the run around it, once per epoch: the eps to train at, and whether to stop.</summary>
internal interface IEpochSchedule
{
    /// <summary>eps for epoch <paramref name="epoch"/> (1-based): fixed, annealed, width-scaled, or the learned one.</summary>
    double ViscosityAt(int epoch);

    /// <summary>Ends epoch <paramref name="epoch"/> with its mean training loss (validation, early stopping, progress); returns true to stop.</summary>
    bool EndEpoch(int epoch, double trainingLoss);
}
