"""Timing helpers: step timers, interleaved repeats, medians and ratios."""

import statistics
import time

import keras


class StepTimer(keras.callbacks.Callback):
    """Records the wall-clock time at the end of every training batch.

    On a CPU, TensorFlow runs a step synchronously, so the time between
    the ends of two consecutive batches is one step: data, forward,
    backward and optimizer update, plus Keras' per-step overhead. JAX
    and PyTorch on a GPU dispatch asynchronously, but Keras turns the
    step's logs into Python numbers before calling a callback that is
    not `async_safe` (this one), which waits for the step's loss; the
    next step waits for this one's update, so consecutive ends are still
    one step apart.
    """

    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())

    def seconds_per_step(self):
        """Mean step time, leaving out the first step of the `fit` call.

        The first step also pays for creating the dataset iterator (and,
        on the first call, for tracing and compiling).
        """
        if len(self.ends) < 2:
            raise ValueError(
                "`steps` must be at least 2 to time a step. "
                f"Received: steps={len(self.ends)}"
            )
        return (self.ends[-1] - self.ends[0]) / (len(self.ends) - 1)


def fit_runner(model, data, steps=None):
    """A function that fits one epoch and returns seconds per step.

    Args:
        model: A compiled model.
        data: A dataset (`tf.data` or `keras.utils.PyDataset`), fitted
            for `steps` steps, or `builders.Arrays`: NumPy arrays fitted
            as users fit them, `fit(x, y, batch_size=...)` with Keras'
            default shuffling, one epoch of the arrays' batches.
        steps: Steps of a dataset's epoch; ignored for arrays.
    """
    from benchmarks import builders

    if isinstance(data, builders.Arrays):
        fit_kwargs = dict(x=data.x, y=data.y, batch_size=data.batch_size)
    else:
        fit_kwargs = dict(x=data, steps_per_epoch=steps, shuffle=False)

    def run():
        timer = StepTimer()
        model.fit(**fit_kwargs, epochs=1, verbose=0, callbacks=[timer])
        return timer.seconds_per_step()

    return run


def predict_runner(model, dataset, num_batches):
    """A function that predicts a dataset and returns seconds per batch."""

    def run():
        start = time.perf_counter()
        model.predict(dataset, verbose=0)
        return (time.perf_counter() - start) / num_batches

    return run


def interleave(runners, repeats, warmup=1):
    """Calls every runner `repeats` times, alternating between them.

    Each runner is first called `warmup` times, untimed. Repeat `r` calls
    the runners in an order rotated by `r` and reversed every other
    repeat, so slow drifts of the machine's load affect all of them alike.

    Args:
        runners: Dict of name to a function returning a duration.
        repeats: Number of timed calls of each runner.
        warmup: Number of untimed calls of each runner first.

    Returns:
        A dict of name to the list of `repeats` durations.
    """
    names = list(runners)
    if not names:
        return {}
    for _ in range(warmup):
        for name in names:
            runners[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        order = names[shift:] + names[:shift]
        if r % 2:
            order = order[::-1]
        for name in order:
            times[name].append(float(runners[name]()))
    return times


def summary(raw):
    """`{"raw": [...], "median": ..., "min": ...}` of measurements."""
    raw = [float(value) for value in raw]
    return {"raw": raw, "median": statistics.median(raw), "min": min(raw)}


def compare(hashed, dense):
    """Ratio fields of a record from paired hashed and dense measurements.

    The ratio is the median over repeats of `hashed[r] / dense[r]`:
    measurements taken side by side are compared with each other.
    """
    ratios = [h / d for h, d in zip(hashed, dense) if d > 0]
    return {
        "hashed": summary(hashed),
        "dense": summary(dense),
        "ratio": statistics.median(ratios) if ratios else None,
        "ratio_of_mins": min(hashed) / min(dense) if min(dense) > 0 else None,
        "ratio_raw": ratios,
    }


def timed(fn, *args, **kwargs):
    """Calls `fn(*args, **kwargs)` and returns `(result, seconds)`."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start
