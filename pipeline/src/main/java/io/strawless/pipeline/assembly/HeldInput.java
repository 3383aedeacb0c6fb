package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;

/**
 * An input of an open trajectory whose event time is past the trajectory's deadline when it is read: read ahead of
 * the watermark (a backfill reads small partitions ahead of the steps'). It waits until the key's timer fires, since
 * inputs of the trajectory with earlier event times, not read yet, may still move the deadline past it, as they
 * would have live; then it joins, or, the wait over, goes where an input after the end goes (LATE, LATE_REVISION).
 *
 * @param eventTime the input's event time (its record's timestamp), which it joins with
 */
public record HeldInput(long eventTime, InputRecord input) {}
