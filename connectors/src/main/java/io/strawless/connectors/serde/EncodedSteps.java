package io.strawless.connectors.serde;

import io.strawless.schemas.StepEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * Steps held as their Avro single-object encoding ({@link StepEventCodec#encode}), decoded only when an element is
 * first read. A trajectory leaves the assembler's state this way: its steps wait there encoded, and when it moves
 * on, {@link StepEventCodec#write(byte[], org.apache.flink.core.memory.DataOutputView)} copies their bytes to the
 * network instead of decoding them and encoding them again (profiled, that was a sixth of the assembler's time).
 * It arrives this way too ({@link StepEventCodec#readEncoded}): the grouping stage passes the bytes on untouched,
 * and scoring decodes each step once.
 *
 * <p>Immutable. Decoding happens at most once, with a codec of the list's own, so the list may be read from any
 * thread that was handed it.
 */
public final class EncodedSteps extends AbstractList<StepEvent> implements RandomAccess {

    private final List<byte[]> encoded;
    private List<StepEvent> decoded;
    /** Lowest and highest policy version, read from the bytes on first use; null until then. */
    private long[] policyVersions;

    /** @param encoded each step's single-object encoding, in the list's order (the arrays are kept, not copied) */
    public EncodedSteps(List<byte[]> encoded) {
        this.encoded = List.copyOf(encoded);
    }

    /** The encoding of the step at {@code index}. */
    public byte[] encoded(int index) {
        return encoded.get(index);
    }

    /** The lowest policy version of the steps (0 for none), read without decoding them. */
    public long minPolicyVersion() {
        return policyVersions()[0];
    }

    /** The highest policy version of the steps (0 for none), read without decoding them. */
    public long maxPolicyVersion() {
        return policyVersions()[1];
    }

    @Override
    public StepEvent get(int index) {
        return decoded().get(index);
    }

    @Override
    public int size() {
        return encoded.size();
    }

    /**
     * The grouping stage checks every trajectory's policy versions (job.max-policy-lag) and otherwise passes its
     * steps on: reading one varint per step in place spares it decoding them all (profiled, that was about
     * half of the grouping stage's time).
     */
    private synchronized long[] policyVersions() {
        if (policyVersions == null) {
            long min = encoded.isEmpty() ? 0 : Long.MAX_VALUE;
            long max = encoded.isEmpty() ? 0 : Long.MIN_VALUE;
            try {
                for (byte[] step : encoded) {
                    long version = StepEventCodec.policyVersion(step);
                    min = Math.min(min, version);
                    max = Math.max(max, version);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("a step the job encoded itself does not read", e);
            }
            policyVersions = new long[] {min, max};
        }
        return policyVersions;
    }

    private synchronized List<StepEvent> decoded() {
        if (decoded == null) {
            StepEventCodec codec = new StepEventCodec();
            List<StepEvent> steps = new ArrayList<>(encoded.size());
            try {
                for (byte[] step : encoded) {
                    steps.add(codec.decode(step));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("a step the job encoded itself does not decode", e);
            }
            decoded = List.copyOf(steps);
        }
        return decoded;
    }
}
