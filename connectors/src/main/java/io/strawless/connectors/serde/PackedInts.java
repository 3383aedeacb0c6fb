package io.strawless.connectors.serde;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A step's token ids as the codec decodes them ({@link StepEventCodec#decode}): an immutable list over an
 * {@code int[]}, boxed only where an element is read as an {@link Integer}. An {@code ArrayList} took a box for
 * each token (ids beyond Integer's cache), and every step the job scores was decoded so, only for the batch
 * writers to unbox them again ({@link AvroBinary#writeNullableInts} reads {@link #getInt}).
 *
 * <p>Equal to any list of the same integers, as {@link java.util.List#equals} asks, so a decoded step equals the
 * step that was encoded.
 */
public final class PackedInts extends AbstractList<Integer> implements RandomAccess {

    private final int[] values;

    /** @param values the ints, kept, not copied: the caller hands them over */
    PackedInts(int[] values) {
        this.values = values;
    }

    /** The element at {@code index}, unboxed. */
    public int getInt(int index) {
        return values[index];
    }

    @Override
    public Integer get(int index) {
        return values[index];
    }

    @Override
    public int size() {
        return values.length;
    }
}
